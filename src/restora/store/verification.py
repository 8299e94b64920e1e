"""Milestones, their evidence and the evaluator's sign-off (docs/monitoring.md, "Milestones,
sign-off, tranches and credits").

A milestone (``monitoring_milestones``) is an indicator of a project, a comparison and a target,
a due date, optionally the performance-bond tranche it settles (``tranche``: the name of a
tranche of the project's ``performance-bond`` financing item) and the credits it earns
(``credits``: unit type, a fixed ``count`` or ``per_value`` serials per unit of the verified
value above ``baseline``, ``vintage``, ``region_code``, ``attrs``).

:func:`evidence` gathers what the indicator's value rests on — soil samples of the register
and campaign soil readings, the remote-sensing results per zone, the displacement series of the
hazard points, plant-survival readings — with ids and hashes, computes the value with
:mod:`restora.monitoring.milestones` and hashes the whole (``digest``): the evaluator signs that
digest.

:func:`sign_off` is ONE transaction: the ``sign_off`` event on the registry ledger, the sign-off
row, and when accepted the tranche release (``finance_tranche_releases``, one per tranche ever)
and the verified outcome with its issuance into the project owner's holding account (opened
if needed). A refused sign-off (signed already, not an evaluator, no evidence) writes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from restora.errors import InputError
from restora.monitoring import milestones as ms
from restora.registry.ledger import LedgerError
from restora.store import registry
from restora.store.audit import as_utc
from restora.store.monitoring_tables import finance_tranche_releases as RELEASES
from restora.store.monitoring_tables import monitoring_campaigns as CAMPAIGNS
from restora.store.monitoring_tables import monitoring_milestones as MILESTONES
from restora.store.monitoring_tables import monitoring_readings as READINGS
from restora.store.monitoring_tables import monitoring_signoffs as SIGNOFFS
from restora.store.platform_tables import organisations as ORGS
from restora.store.platform_tables import projects as PROJECTS
from restora.store.platform_tables import users as USERS
from restora.store.registry_tables import registry_accounts as ACCOUNTS

BOND = "performance-bond"
DECISIONS = ("accepted", "rejected")
#: Readings of these indicators are the displacement series of a hazard point.
DISPLACEMENT_INDICATORS = ("slope_displacement", "crack_width", "settlement")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$")


def _engine(store: Any) -> sa.Engine:
    return store if isinstance(store, sa.Engine) else store.engine  # type: ignore[no-any-return]


def _read(store: Any) -> sa.Connection:
    """A read-only connection (on SQLite a deferred transaction: readers never queue)."""
    conn = _engine(store).connect()
    conn.execution_options(restora_read_only=True)
    return conn


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _milestone_row(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    d["created_at"] = as_utc(d["created_at"])
    d["due_on"] = d["due_on"].isoformat() if d["due_on"] is not None else None
    return d


# ------------------------------------------------------------------------------ milestones
def _project(conn: sa.Connection, project_id: str) -> Any:
    row = conn.execute(
        sa.select(PROJECTS).where(
            PROJECTS.c.project_id == project_id, PROJECTS.c.deleted_at.is_(None)
        )
    ).first()
    if row is None:
        raise InputError(f"no project {project_id!r} in the store", field="project_id")
    return row


def bond_tranche(spec: Mapping[str, Any], name: str) -> tuple[Any, float, str]:
    """The tranche ``name`` of a project's performance bond: (Tranche, principal, instrument).

    Raises
    ------
    InputError
        The project has no performance bond with such a tranche.
    """
    from restora.finance.instruments.performance_bond import Tranche

    for item in spec.get("financing") or []:
        if item.get("instrument") != BOND:
            continue
        inputs = item.get("inputs") or {}
        for t in inputs.get("tranches") or []:
            if t.get("name") == name:
                return Tranche.model_validate(t), float(inputs["principal"]), BOND
    raise InputError(f"the project has no performance-bond tranche {name!r}", field="tranche")


def add_milestone(
    store: Any,
    *,
    project_id: str,
    name: str,
    indicator: str,
    target: float,
    comparison: str = "ge",
    due_on: dt.date | None = None,
    tranche: str | None = None,
    credits: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    milestone_id: str | None = None,
    created_by: str | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Add a milestone to a project; its id (default ``<project>/<name>``) must be new.

    ``params`` are the indicator's own: ``by`` (``sample`` or ``site``), ``standard``
    (``gb15618``) and ``land_use`` of campaign samples for the soil share; ``window_days`` and
    ``rate_limit_mm_per_day`` (both required) and ``sites`` for hazards; ``on`` (latest
    evidence date) for all.
    """
    ms.check_indicator(indicator)
    ms.meets(0.0, comparison, 0.0)  # checks the comparison
    mid = milestone_id or f"{project_id}/{name}"
    if not _ID.match(mid):
        raise InputError(f"{mid!r} is not a milestone id (letters, digits, _ . : / -)", field="id")
    clean_credits = ms.check_credits(credits)
    p = dict(params or {})
    if indicator == "hazards_stabilised":
        for key in ("window_days", "rate_limit_mm_per_day"):
            if not isinstance(p.get(key), int | float) or p[key] <= 0:
                raise InputError(
                    f"a hazards_stabilised milestone needs params.{key} (a number > 0)",
                    field=f"params.{key}",
                )
    with _engine(store).begin() as conn:
        proj = _project(conn, project_id)
        if tranche is not None:
            bond_tranche(proj.spec, tranche)
        if conn.execute(sa.select(MILESTONES.c.id).where(MILESTONES.c.id == mid)).first():
            raise InputError(f"a milestone {mid!r} exists already", field="id")
        conn.execute(
            MILESTONES.insert().values(
                id=mid,
                project_id=project_id,
                name=name,
                indicator=indicator,
                comparison=comparison,
                target=float(target),
                due_on=due_on,
                tranche=tranche,
                credits=clean_credits,
                params=p,
                status="open",
                created_at=at or _now(),
                created_by=created_by,
            )
        )
    out = milestone(store, mid)
    assert out is not None
    return out


def milestones_from_project(
    store: Any, project_id: str, *, created_by: str | None = None
) -> list[dict[str, Any]]:
    """The milestones of a project's performance-bond tranches (created where missing).

    One per tranche: id ``<project>/<tranche>``, the tranche's indicator, comparison ``ge``,
    target the threshold of the top tier, due on 31 December of year ``start_year +
    verification_year - 1`` (verification year 1 is the end of the first year). Existing
    milestones are left as they are. Returns every milestone of the project.
    """
    with _read(store) as conn:
        spec = _project(conn, project_id).spec
    start = int(spec.get("start_year") or _now().year)
    for item in spec.get("financing") or []:
        if item.get("instrument") != BOND:
            continue
        for t in (item.get("inputs") or {}).get("tranches") or []:
            mid = f"{project_id}/{t['name']}"
            if milestone(store, mid) is not None:
                continue
            lows = [tier.get("lower") for tier in t["tiers"] if tier.get("lower") is not None]
            indicator = str(t["indicator"])
            if indicator not in ms.INDICATORS:
                continue  # a tranche on an indicator Restora does not compute: add it by hand
            add_milestone(
                store,
                project_id=project_id,
                name=str(t["name"]),
                indicator=indicator,
                target=float(lows[-1]) if lows else 0.0,
                due_on=dt.date(start + int(t["verification_year"]) - 1, 12, 31),
                tranche=str(t["name"]),
                milestone_id=mid,
                created_by=created_by,
            )
    return milestones(store, project_id=project_id)


def milestone(store: Any, milestone_id: str) -> dict[str, Any] | None:
    """One milestone, or None."""
    with _read(store) as conn:
        row = conn.execute(sa.select(MILESTONES).where(MILESTONES.c.id == milestone_id)).first()
    return None if row is None else _milestone_row(row)


def milestones(store: Any, *, project_id: str | None = None) -> list[dict[str, Any]]:
    """Milestones (of one project), by due date then id."""
    q = sa.select(MILESTONES).order_by(  # no due date last, on both databases
        MILESTONES.c.project_id, MILESTONES.c.due_on.is_(None), MILESTONES.c.due_on, MILESTONES.c.id
    )
    if project_id is not None:
        q = q.where(MILESTONES.c.project_id == project_id)
    with _read(store) as conn:
        return [_milestone_row(r) for r in conn.execute(q)]


# ------------------------------------------------------------------------------ evidence
def _on(m: Mapping[str, Any], on: dt.date | None) -> dt.date | None:
    if on is not None:
        return on
    text = (m.get("params") or {}).get("on")
    return dt.date.fromisoformat(str(text)) if text else None


def _end_of(on: dt.date | None) -> dt.datetime | None:
    if on is None:
        return None
    return dt.datetime.combine(on + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def _campaign_soil(
    conn: sa.Connection, mines: list[str], until: dt.datetime | None
) -> pd.DataFrame:
    """Campaign soil readings as register sample rows: one sample per (point, time)."""
    from restora.inventory.schema import METALS

    names = {f"soil_{m.lower()}": m for m in METALS} | {"soil_ph": "ph"}
    q = sa.select(READINGS).where(
        READINGS.c.mine_id.in_(mines), READINGS.c.indicator.in_(list(names))
    )
    if until is not None:
        q = q.where(READINGS.c.measured_at < until)
    rows = [dict(r._mapping) for r in conn.execute(q.order_by(READINGS.c.id))]
    samples: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["sensor_id"], as_utc(r["measured_at"]).isoformat())
        s = samples.setdefault(
            key,
            {
                "sample_id": f"{r['sensor_id']}@{key[1]}",
                "mine_id": r["mine_id"],
                "site_id": r["site_id"],
                "campaign_id": r["campaign_id"],
                "reading_ids": [],
            },
        )
        s[names[r["indicator"]]] = float(r["value"])
        s["reading_ids"].append(int(r["id"]))
    return pd.DataFrame(list(samples.values()))


def _soil(
    store: Any, conn: sa.Connection, m: Mapping[str, Any], mines: list[str], on: dt.date | None
) -> dict[str, Any]:
    from restora.diagnosis import soil
    from restora.diagnosis.soil_register import soil_samples
    from restora.inventory.model import DETECTION_LIMIT_COLUMNS
    from restora.inventory.schema import METALS

    params = m.get("params") or {}
    register = store.load_register(mines).samples
    if on is not None and "sampled_on" in register.columns:
        when = pd.to_datetime(register["sampled_on"], errors="coerce")
        register = register[~(when > pd.Timestamp(on))]
    register = register.assign(source="register")
    camp = _campaign_soil(conn, mines, _end_of(on))
    if len(camp):
        camp = camp.assign(land_use=str(params.get("land_use") or "other"), source="campaign")
        for col in [*METALS, *DETECTION_LIMIT_COLUMNS.values(), "qualifiers"]:
            if col not in camp.columns:
                camp[col] = np.nan if col != "qualifiers" else None
        camp = camp[camp["ph"].notna()] if "ph" in camp.columns else camp.iloc[0:0]
    frame = pd.concat([register, camp], ignore_index=True) if len(camp) else register
    items: list[dict[str, Any]] = []
    if not len(frame):
        return {"value": None, "items": [], "notes": ["no soil sample of the project's mines"]}
    standard = str(params.get("standard") or "gb15618")
    try:
        data, notes = soil_samples(
            frame.reset_index(drop=True), standard, land_class=params.get("land_class"), on=on
        )
    except InputError as exc:
        return {"value": None, "items": [], "notes": [str(exc)]}
    result = soil.classify(
        data.concentration, data.pollutants, data.land, data.ph, standard=data.standard, on=on,
        censored=data.censored, detection_limit=data.detection_limit,
    )  # fmt: skip
    names = result.class_names()
    by_id = {str(r["sample_id"]): r for r in frame.to_dict("records")}
    for k, sid in enumerate(data.sample_id):
        src = by_id.get(str(sid), {})
        items.append(
            {
                "sample_id": str(sid),
                "source": src.get("source"),
                "site_id": src.get("site_id"),
                "campaign_id": src.get("campaign_id"),
                "reading_ids": src.get("reading_ids")
                if isinstance(src.get("reading_ids"), list)
                else None,
                "class": str(names[k]) or None,
                "below_screening": bool(result.sample_class[k] == 0),
                "max_index": (
                    None
                    if np.isnan(result.index[k]).all()
                    else round(float(np.nanmax(result.index[k])), 6)
                ),
            }
        )
    by = str(params.get("by") or "sample")
    zone = [i["site_id"] or i["sample_id"] for i in items] if by == "site" else None
    share = ms.share_below_screening(result.sample_class, zone)
    return {
        "value": share.value,
        "met": share.met,
        "counted": share.counted,
        "by": by,
        "items": items,
        "notes": list(notes),
        "tables": [t["name"] + "@" + str(t.get("version")) for t in result.tables_used()],
    }


def _vegetation(
    store: Any, m: Mapping[str, Any], mines: list[str], on: dt.date | None
) -> dict[str, Any]:
    from restora.store.remote_sensing import zone_cover

    items: list[dict[str, Any]] = []
    for mine in mines:
        for z in zone_cover(store, mine, on=on):
            items.append({"mine_id": mine, **z})
    fvc = [np.nan if z.get("fvc_mean") is None else float(z["fvc_mean"]) for z in items]
    area = [float(z.get("valid_area_m2") or 0.0) for z in items]
    return {"value": ms.area_weighted_cover(fvc, area) if items else None, "items": items}


def _series(
    conn: sa.Connection,
    mines: list[str],
    indicators: tuple[str, ...],
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> list[dict[str, Any]]:
    q = sa.select(READINGS).where(
        READINGS.c.mine_id.in_(mines), READINGS.c.indicator.in_(indicators)
    )
    if since is not None:
        q = q.where(READINGS.c.measured_at >= since)
    if until is not None:
        q = q.where(READINGS.c.measured_at < until)
    q = q.order_by(READINGS.c.sensor_id, READINGS.c.indicator, READINGS.c.measured_at)
    return [dict(r._mapping) for r in conn.execute(q)]


def _hazards(
    conn: sa.Connection, m: Mapping[str, Any], mines: list[str], on: dt.date | None
) -> dict[str, Any]:
    params = m.get("params") or {}
    until = _end_of(on) or _now()
    since = until - dt.timedelta(days=float(params["window_days"]))
    rows = _series(conn, mines, DISPLACEMENT_INDICATORS, since, until)
    sites = params.get("sites")
    points: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if sites and r["site_id"] not in sites:
            continue
        points.setdefault((r["sensor_id"], r["indicator"]), []).append(r)
    # a hazard point listed in params.sites with no reading at all is a point not shown stable
    seen_sites = {rs[0]["site_id"] for rs in points.values()}
    missing = [s for s in (sites or []) if s not in seen_sites]
    items, rates = [], []
    for (sensor, indicator), rs in sorted(points.items()):
        t = [as_utc(r["measured_at"]).timestamp() for r in rs]
        rate = ms.displacement_rate(t, [r["value"] for r in rs])
        rates.append(rate)
        items.append(
            {
                "sensor_id": sensor,
                "site_id": rs[0]["site_id"],
                "indicator": indicator,
                "readings": len(rs),
                "first_reading_id": int(rs[0]["id"]),
                "last_reading_id": int(rs[-1]["id"]),
                "rate_mm_per_day": None if rate is None else round(rate, 6),
                "series": [[as_utc(r["measured_at"]).isoformat(), float(r["value"])] for r in rs],
            }
        )
    for s in missing:
        rates.append(None)
        items.append(
            {
                "sensor_id": None,
                "site_id": s,
                "indicator": None,
                "readings": 0,
                "rate_mm_per_day": None,
                "series": [],
            }
        )
    share = ms.share_stabilised(rates, float(params["rate_limit_mm_per_day"]))
    return {
        "value": share.value,
        "met": share.met,
        "counted": share.counted,
        "window": [since.isoformat(), until.isoformat()],
        "items": items,
    }


def _survival(
    conn: sa.Connection, m: Mapping[str, Any], mines: list[str], on: dt.date | None
) -> dict[str, Any]:
    rows = _series(conn, mines, ("plant_survival",), None, _end_of(on))
    latest: dict[str, dict[str, Any]] = {}
    for r in rows:  # ordered by time: the last one of each plot wins
        latest[r["sensor_id"]] = r
    items = [
        {
            "sensor_id": s,
            "site_id": r["site_id"],
            "reading_id": int(r["id"]),
            "campaign_id": r["campaign_id"],
            "measured_at": as_utc(r["measured_at"]).isoformat(),
            "value": float(r["value"]),
        }
        for s, r in sorted(latest.items())
    ]
    return {"value": ms.survival_rate(rates=[i["value"] for i in items]), "items": items}


def _campaign_files(conn: sa.Connection, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = sorted({str(i["campaign_id"]) for i in items if i.get("campaign_id")})
    if not ids:
        return []
    q = sa.select(
        CAMPAIGNS.c.id,
        CAMPAIGNS.c.name,
        CAMPAIGNS.c.file_name,
        CAMPAIGNS.c.sha256,
        CAMPAIGNS.c.rows,
    ).where(CAMPAIGNS.c.id.in_(ids))
    return [dict(r._mapping) for r in conn.execute(q.order_by(CAMPAIGNS.c.id))]


def evidence(store: Any, milestone_id: str, *, on: dt.date | None = None) -> dict[str, Any]:
    """What a milestone's value rests on, the value, and what a sign-off would settle.

    Returns
    -------
    dict
        ``milestone``; ``indicator``, ``value`` [indicator unit] (None: no evidence),
        ``target``, ``comparison``, ``meets``; ``items`` (the samples, zones, hazard points or
        plots, with reading ids, result ids and file hashes), ``campaigns`` (files and their
        SHA-256), ``notes``; ``tranche`` (the tier the value reaches and the amount it would
        release, when the milestone settles a tranche) and ``credits`` (the count it would
        issue); ``digest``: SHA-256 of the evidence (indicator, value, items, campaigns).
    """
    m = milestone(store, milestone_id)
    if m is None:
        raise InputError(f"no milestone {milestone_id!r}", field="milestone")
    when = _on(m, on)
    with _read(store) as conn:
        proj = _project(conn, m["project_id"])
        mines = [str(x) for x in proj.spec.get("mines") or []]
        ind = m["indicator"]
        if ind == "soil_share_below_screening":
            got = _soil(store, conn, m, mines, when)
        elif ind == "vegetation_cover":
            got = _vegetation(store, m, mines, when)
        elif ind == "hazards_stabilised":
            got = _hazards(conn, m, mines, when)
        else:
            got = _survival(conn, m, mines, when)
        campaigns = _campaign_files(conn, got["items"])
    value = got.get("value")
    out: dict[str, Any] = {
        "milestone": m,
        "project_id": m["project_id"],
        "mines": mines,
        "on": when.isoformat() if when else None,
        "indicator": ind,
        "value": value,
        "target": m["target"],
        "comparison": m["comparison"],
        "meets": None if value is None else ms.meets(value, m["comparison"], m["target"]),
        **{k: v for k, v in got.items() if k not in ("value",)},
        "campaigns": campaigns,
        "notes": got.get("notes", []),
    }
    out["digest"] = ms.digest(
        {"indicator": ind, "value": value, "items": got["items"], "campaigns": campaigns}
    )
    out["tranche"] = _tranche_preview(proj.spec, m, value)
    out["credits"] = _credits_preview(m, value)
    return out


def _tranche_preview(
    spec: Mapping[str, Any], m: Mapping[str, Any], value: float | None
) -> dict[str, Any] | None:
    if m.get("tranche") is None or value is None:
        return None
    tranche, principal, instrument = bond_tranche(spec, m["tranche"])
    r = ms.tranche_release(tranche, principal, value)
    return {
        "instrument": instrument,
        "tranche": r.tranche,
        "tier": r.tier,
        "tier_index": r.tier_index,
        "principal_fraction": r.principal_fraction,
        "tranche_principal": r.tranche_principal,
        "amount": r.amount,
        "defer": r.defer,
        "currency": "CNY",
    }


def _credits_preview(m: Mapping[str, Any], value: float | None) -> dict[str, Any] | None:
    c = m.get("credits")
    if not c or value is None:
        return None
    return {**c, "issue_count": ms.credit_count(c, value)}


# ------------------------------------------------------------------------------ sign-off
def _evaluator(conn: sa.Connection, username: str) -> Any:
    row = conn.execute(sa.select(USERS).where(USERS.c.username == username)).first()
    if row is None or not row.active or row.role != "evaluator":
        raise InputError(
            f"{username!r} is not an active evaluator account: only an evaluator signs off",
            field="evaluator",
        )
    return row


def _holding_account(tx: Any, proj: Any, at: dt.datetime, actor: str) -> int:
    conn = tx.conn
    if proj.owner_org_id is None:
        raise InputError(
            f"project {proj.project_id} has no owner organisation to hold its credits",
            field="credits",
        )
    found = conn.execute(
        sa.select(ACCOUNTS.c.id)
        .where(ACCOUNTS.c.kind == "holding", ACCOUNTS.c.org_id == proj.owner_org_id)
        .order_by(ACCOUNTS.c.id)
        .limit(1)
    ).scalar()
    if found is not None:
        return int(found)
    org = conn.execute(sa.select(ORGS.c.name).where(ORGS.c.id == proj.owner_org_id)).scalar()
    return registry.open_account_in(
        tx,
        kind="holding",
        name=f"{org or proj.owner_org_id} holding",
        at=at,
        org_id=int(proj.owner_org_id),
        region_code=proj.region_code,
        actor=actor,
    )


def verification_id(milestone_id: str) -> str:
    """The registry verification recorded by a milestone's accepted sign-off."""
    return f"MS:{milestone_id}"


def sign_off(
    store: Any,
    milestone_id: str,
    *,
    evaluator: str,
    decision: str,
    report_sha256: str,
    value: float | None = None,
    note: str | None = None,
    at: dt.datetime | None = None,
    on: dt.date | None = None,
) -> dict[str, Any]:
    """An evaluator's sign-off of a milestone, in one transaction.

    Parameters
    ----------
    milestone_id : str
        The milestone.
    evaluator : str
        Username of an active ``evaluator`` account (kept on the sign-off row; the registry's
        events, which are public, name its organisation and act as ``org:<id>``).
    decision : {"accepted", "rejected"}
        The evaluator's decision.
    report_sha256 : str
        SHA-256 of the evaluator's report (64 hex digits).
    value : float, optional
        A value the evaluator measured [indicator unit]; default the value computed from the
        evidence (:func:`evidence`). An entered value needs a ``note`` saying how it was
        measured.
    note, at, on : optional
        Note; time of the sign-off (default now, UTC); evidence date.

    Returns
    -------
    dict
        The sign-off row (``id``, ``event_id``, ``value``, ``evidence``, ``verification_id``,
        ``issued``) with ``release`` (the tranche release row or None) and ``events``.

    Raises
    ------
    InputError
        Not an evaluator, a bad decision or report hash, no evidence, an entered value
        without a note.
    LedgerError
        The milestone is accepted already (or its tranche released, or its verification
        recorded): nothing is written.
    """
    at = at or _now()
    if decision not in DECISIONS:
        raise InputError(f"decision {decision!r} is not accepted or rejected", field="decision")
    report_sha256 = (report_sha256 or "").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", report_sha256):
        raise InputError("the report's SHA-256 must be 64 hex digits", field="report_sha256")
    if value is not None and not note:
        raise InputError("an entered value needs a note saying how it was measured", field="note")
    ev = evidence(store, milestone_id, on=on)
    m = ev["milestone"]
    if m["status"] == "accepted":
        raise LedgerError(f"milestone {milestone_id} is already signed off", field="milestone")
    computed = ev["value"]
    if computed is None and not ev["items"] and value is None:
        raise InputError(
            f"milestone {milestone_id} has no evidence ({m['indicator']}): nothing to sign off",
            field="evidence",
        )
    verified = float(value) if value is not None else computed
    if verified is None and decision == "accepted":
        raise InputError(
            f"the evidence of milestone {milestone_id} gives no value: enter a measured value",
            field="value",
        )
    record = {
        k: ev[k] for k in ("indicator", "value", "target", "comparison", "meets", "digest", "on")
    }
    record |= {"entered_value": value, "campaigns": ev["campaigns"], "items": len(ev["items"])}
    out: dict[str, Any] = {}

    def body(tx: Any) -> None:
        conn = tx.conn
        # lock the milestone (PostgreSQL); SQLite transactions are already exclusive
        q = sa.select(MILESTONES).where(MILESTONES.c.id == milestone_id)
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()
        mrow = conn.execute(q).one()
        if mrow.status == "accepted":
            raise LedgerError(f"milestone {milestone_id} is already signed off", field="milestone")
        user = _evaluator(conn, evaluator)
        proj = _project(conn, mrow.project_id)
        # the registry's log is public: it names the evaluator's organisation, never the person
        org = None
        if user.org_id is not None:
            org = conn.execute(sa.select(ORGS.c.name).where(ORGS.c.id == user.org_id)).scalar()
        logged = registry.signoff_evaluator(org)
        actor = f"org:{user.org_id}" if user.org_id is not None else "role:evaluator"
        details: dict[str, Any] = {}
        release = None
        if decision == "accepted" and mrow.tranche is not None:
            assert verified is not None
            tranche, principal, instrument = bond_tranche(proj.spec, mrow.tranche)
            release = ms.tranche_release(tranche, principal, verified)
            taken = conn.execute(
                sa.select(RELEASES.c.id).where(
                    RELEASES.c.project_id == mrow.project_id,
                    RELEASES.c.instrument == instrument,
                    RELEASES.c.tranche == release.tranche,
                )
            ).first()
            if taken is not None:
                raise LedgerError(
                    f"tranche {release.tranche} of project {mrow.project_id} is released already",
                    field="tranche",
                )
            details["tranche"] = {
                "instrument": instrument,
                "tranche": release.tranche,
                "tier": release.tier,
                "principal_fraction": release.principal_fraction,
                "amount_cny": release.amount,
            }
        credits = mrow.credits if decision == "accepted" else None
        count = 0
        if credits:
            assert verified is not None
            count = ms.credit_count(credits, verified)
            if count >= 1:
                details["verification"] = verification_id(milestone_id)
        registry.sign_off_in(
            tx,
            milestone=milestone_id,
            project_id=mrow.project_id,
            indicator=mrow.indicator,
            value=verified,
            target=float(mrow.target),
            decision=decision,
            evaluator=logged,
            evidence_sha256=ev["digest"],
            report_sha256=report_sha256,
            at=at,
            details=details,
            actor=actor,
        )
        issued = None
        if count >= 1 and credits:
            region = str(credits.get("region_code") or proj.region_code or "")
            registry.record_verification_in(
                tx,
                verification=details["verification"],
                unit_type=str(credits["unit_type"]),
                project_id=mrow.project_id,
                vintage=int(credits["vintage"]),
                region_code=region,
                count=count,
                evaluator=logged,
                report_sha256=report_sha256,
                at=at,
                details={"milestone": milestone_id, "value": verified},
                actor=actor,
            )
            account = _holding_account(tx, proj, at, actor)
            blocks = registry.issue_in(
                tx,
                verification=details["verification"],
                account=account,
                count=count,
                at=at,
                attrs=credits.get("attrs") or {},
                actor=actor,
            )
            issued = {
                "unit_type": str(credits["unit_type"]),
                "count": count,
                "account": account,
                "blocks": [[b.start, b.end, b.account, b.status] for b in blocks],
            }
        out.update(
            milestone=mrow,
            user=user,
            release=release,
            details=details,
            issued=issued,
        )

    def after(conn: sa.Connection, ids: list[int]) -> None:
        mrow = out["milestone"]
        signoff_id = conn.execute(
            SIGNOFFS.insert()
            .values(
                milestone_id=milestone_id,
                project_id=mrow.project_id,
                decision=decision,
                value=verified,
                evidence=record,
                report_sha256=report_sha256,
                evaluator=evaluator,
                evaluator_org_id=out["user"].org_id,
                note=note,
                signed_at=at,
                event_id=ids[0],
                verification_id=out["details"].get("verification"),
                issued=out["issued"],
            )
            .returning(SIGNOFFS.c.id)
        ).scalar_one()
        out["signoff_id"] = int(signoff_id)
        r = out["release"]
        if r is not None:
            conn.execute(
                RELEASES.insert().values(
                    project_id=mrow.project_id,
                    instrument=out["details"]["tranche"]["instrument"],
                    tranche=r.tranche,
                    indicator=mrow.indicator,
                    value=verified,
                    tier=r.tier,
                    principal_fraction=r.principal_fraction,
                    amount_cny=r.amount,
                    signoff_id=signoff_id,
                    released_at=at,
                    details={
                        "tier_index": r.tier_index,
                        "tranche_principal_cny": r.tranche_principal,
                        "defer": r.defer,
                        "milestone": milestone_id,
                        "event_id": ids[0],
                    },
                )
            )
        conn.execute(
            MILESTONES.update().where(MILESTONES.c.id == milestone_id).values(status=decision)
        )

    result = registry.write(
        store, body, at=at, kind="sign_off", payload={"milestone": milestone_id}, after=after
    )
    row = signoffs(store, milestone_id=milestone_id)[-1]
    row["release"] = next(
        (r for r in tranche_releases(store, row["project_id"]) if r["signoff_id"] == row["id"]),
        None,
    )
    row["events"] = result["events"]
    return row


def _signoff_row(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    d["signed_at"] = as_utc(d["signed_at"])
    return d


def signoffs(
    store: Any, *, milestone_id: str | None = None, project_id: str | None = None
) -> list[dict[str, Any]]:
    """Sign-offs (of a milestone or a project), oldest first."""
    q = sa.select(SIGNOFFS).order_by(SIGNOFFS.c.id)
    if milestone_id is not None:
        q = q.where(SIGNOFFS.c.milestone_id == milestone_id)
    if project_id is not None:
        q = q.where(SIGNOFFS.c.project_id == project_id)
    with _read(store) as conn:
        return [_signoff_row(r) for r in conn.execute(q)]


def tranche_releases(store: Any, project_id: str) -> list[dict[str, Any]]:
    """The performance-bond tranches a project's sign-offs released: instrument, tranche,
    indicator, verified value, tier, principal fraction [1], amount [CNY], sign-off, time."""
    q = (
        sa.select(RELEASES)
        .where(RELEASES.c.project_id == project_id)
        .order_by(RELEASES.c.released_at, RELEASES.c.id)
    )
    with _read(store) as conn:
        out = []
        for r in conn.execute(q):
            d = dict(r._mapping)
            d["released_at"] = as_utc(d["released_at"])
            out.append(d)
    return out
