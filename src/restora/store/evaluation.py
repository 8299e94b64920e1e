"""The inputs of the policy indicators, read from the store (docs/evaluation.md).

:func:`project_inputs` and :func:`mine_inputs` assemble the plain records of
:mod:`restora.evaluation.indicators` from what the platform holds:

- the live projects (``projects``: region, mines, start year, when registered) and the
  **latest** appraisal of each (``appraisals``: its modes stage gives the primary
  value-realization mode and the mine's profile; its financing stage the sources and uses of
  funds, classified by ``evaluation/funding-sources``; its value stage the ESV and GEP gains);
- the register (``mines``, ``sites``: region, mineral, status, damaged area);
- the registry (``registry_blocks``: issued and retired units per project; ``registry_trades``:
  settlements and their prices; ``registry_surplus`` and ``registry_weighbridge`` through
  :func:`restora.store.trading.earth_and_stone`: earth and stone and its compliance alerts);
- the project library (``listings`` and ``claims``: when a project was listed and when a
  provider's claim was accepted);
- monitoring (``monitoring_milestones``, ``monitoring_signoffs``: milestones, their due dates
  and acceptance);
- the integrity archive (``integrity_obligations`` of kind ``fund_accrual``: the restoration
  fund's accruals due and paid, attributed to the mine they name).

Dates of the management cycle are calendar days in China Standard Time (UTC+8). Nothing is
written.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from restora import refdata
from restora.evaluation import indicators as ind
from restora.registry.ledger import UNIT_TYPES
from restora.store.monitoring_tables import integrity_obligations as OBLIGATIONS
from restora.store.monitoring_tables import monitoring_milestones as MILESTONES
from restora.store.monitoring_tables import monitoring_signoffs as SIGNOFFS
from restora.store.platform_tables import appraisals as APPRAISALS
from restora.store.platform_tables import claims as CLAIMS
from restora.store.platform_tables import listings as LISTINGS
from restora.store.platform_tables import projects as PROJECTS
from restora.store.registry_tables import registry_blocks as BLOCKS
from restora.store.registry_tables import registry_surplus as SURPLUS
from restora.store.registry_tables import registry_trades as TRADES
from restora.store.tables import mines as MINES
from restora.store.tables import sites as SITES

#: China Standard Time: the calendar of the bureaus' deadlines.
CST = dt.timezone(dt.timedelta(hours=8))


def _engine(store: Any) -> sa.Engine:
    return store if isinstance(store, sa.Engine) else store.engine  # type: ignore[no-any-return]


def _read(store: Any) -> sa.Connection:
    """A read-only connection (on SQLite a plain BEGIN: readers never queue behind writers)."""
    conn = _engine(store).connect()
    conn.execution_options(restora_read_only=True)
    return conn


def _day(t: dt.datetime | None) -> dt.date | None:
    """The calendar day (UTC+8) of a stored UTC timestamp."""
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(CST).date()


def _first(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    return b if a is None else a if b is None else min(a, b)


# ------------------------------------------------------------------------------ the register
def _mine_rows(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    area = sa.func.coalesce(SITES.c.area_hm2, SITES.c.declared_area_hm2, 0.0)
    areas = dict(
        conn.execute(
            sa.select(SITES.c.mine_id, sa.func.sum(area))
            .where(SITES.c.deleted_at.is_(None))
            .group_by(SITES.c.mine_id)
        ).all()
    )
    out = {}
    for r in conn.execute(
        sa.select(
            MINES.c.mine_id,
            MINES.c.region_code,
            MINES.c.mineral,
            MINES.c.status,
            MINES.c.responsible_party,
        ).where(MINES.c.deleted_at.is_(None))
    ):
        out[r.mine_id] = {**r._mapping, "area_hm2": float(areas.get(r.mine_id) or 0.0)}
    return out


def mine_inputs(store: Any, *, on: dt.date) -> list[ind.MineInput]:
    """The register's live mines with their damaged area and restoration-fund accruals.

    A mine's fund figures are the ``fund_accrual`` obligations that name it and fall due by
    ``on``: the amounts due and the amounts paid of them [CNY] (None when there is none).
    """
    with _read(store) as conn:
        mines = _mine_rows(conn)
        due: dict[str, float] = defaultdict(float)
        paid: dict[str, float] = defaultdict(float)
        for r in conn.execute(
            sa.select(OBLIGATIONS.c.mine_id, OBLIGATIONS.c.amount, OBLIGATIONS.c.done_amount).where(
                OBLIGATIONS.c.kind == "fund_accrual",
                OBLIGATIONS.c.mine_id.is_not(None),
                OBLIGATIONS.c.due_on <= on,
            )
        ):
            due[r.mine_id] += float(r.amount or 0.0)
            paid[r.mine_id] += float(r.done_amount or 0.0)
    return [
        ind.MineInput(
            mine_id=m["mine_id"],
            region_code=str(m["region_code"]),
            mineral=str(m["mineral"]),
            status=str(m["status"]),
            damaged_area_hm2=m["area_hm2"],
            fund_due_cny=due.get(k),
            fund_paid_cny=paid.get(k, 0.0) if k in due else None,
        )
        for k, m in sorted(mines.items())
    ]


# ------------------------------------------------------------------------------ projects
def _latest_documents(conn: sa.Connection) -> dict[str, tuple[dict[str, Any], dt.datetime]]:
    """Each project's latest appraisal document and when its first appraisal was stored."""
    latest = (
        sa.select(APPRAISALS.c.project_id, sa.func.max(APPRAISALS.c.version).label("v"))
        .group_by(APPRAISALS.c.project_id)
        .subquery()
    )
    first = dict(
        conn.execute(
            sa.select(APPRAISALS.c.project_id, sa.func.min(APPRAISALS.c.created_at)).group_by(
                APPRAISALS.c.project_id
            )
        ).all()
    )
    out = {}
    for r in conn.execute(
        sa.select(APPRAISALS.c.project_id, APPRAISALS.c.document).join(
            latest,
            sa.and_(
                latest.c.project_id == APPRAISALS.c.project_id, latest.c.v == APPRAISALS.c.version
            ),
        )
    ):
        out[r.project_id] = (r.document or {}, first[r.project_id])
    return out


def _stage(doc: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    st = (doc.get("stages") or {}).get(name)
    return st if isinstance(st, Mapping) and st.get("status") == "assessed" else None


def _mode_profile(doc: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    """The primary mode and the profile of the first mine of the modes stage."""
    modes = _stage(doc, "modes")
    first = (modes or {}).get("mines") or []
    if not first:
        return None, {}
    m = first[0]
    profile = ((m.get("profile") or {}).get("profile")) or {}
    return m.get("primary_mode"), profile


def _funding(
    doc: Mapping[str, Any],
    profile: Mapping[str, Any],
    register_party: str | None,
    table: Mapping[str, Any],
) -> tuple[ind.FundingLine, ...] | None:
    fin = _stage(doc, "financing")
    structure = (fin or {}).get("structure") or {}
    su = (
        structure.get("sources_uses") if structure.get("status", "assessed") == "assessed" else None
    )
    if not su or not su.get("sources"):
        return None
    party = profile.get("responsible_party") or register_party
    return ind.classify_funding(
        su["sources"],
        table,
        funding_source=profile.get("funding_source"),
        responsible_party=party,
    )


def _gains(doc: Mapping[str, Any]) -> tuple[float | None, float | None]:
    value = _stage(doc, "value") or {}
    esv = (value.get("esv") or {}).get("change_cny_per_yr")
    gep = value.get("gep") or {}
    gep_gain = None
    if gep.get("status") == "assessed" and gep.get("after_cny_per_yr") is not None:
        gep_gain = float(gep["after_cny_per_yr"]) - float(gep.get("before_cny_per_yr") or 0.0)
    return (float(esv) if esv is not None else None), gep_gain


def _jobs(doc: Mapping[str, Any]) -> float | None:
    """Jobs the appraisal states (``jobs`` of the document or of a stage), else None."""
    found = doc.get("jobs")
    for st in (doc.get("stages") or {}).values():
        if found is None and isinstance(st, Mapping):
            found = st.get("jobs")
    return float(found) if isinstance(found, int | float) else None


def _listed_financed(conn: sa.Connection) -> tuple[dict[str, dt.date], dict[str, dt.date]]:
    listed: dict[str, dt.date] = {}
    for pid, at in conn.execute(
        sa.select(LISTINGS.c.project_id, sa.func.min(LISTINGS.c.created_at)).group_by(
            LISTINGS.c.project_id
        )
    ):
        listed[pid] = _day(at)  # type: ignore[assignment]
    financed: dict[str, dt.date] = {}
    for pid, at in conn.execute(
        sa.select(LISTINGS.c.project_id, sa.func.min(CLAIMS.c.answered_at))
        .join(CLAIMS, CLAIMS.c.listing_id == LISTINGS.c.id)
        .where(CLAIMS.c.answer == "accept")
        .group_by(LISTINGS.c.project_id)
    ):
        if at is not None:
            financed[pid] = _day(at)  # type: ignore[assignment]
    return listed, financed


def _milestones(conn: sa.Connection) -> dict[str, list[ind.MilestoneInput]]:
    accepted: dict[str, dt.date] = {}
    for mid, at in conn.execute(
        sa.select(SIGNOFFS.c.milestone_id, sa.func.min(SIGNOFFS.c.signed_at))
        .where(SIGNOFFS.c.decision == "accepted")
        .group_by(SIGNOFFS.c.milestone_id)
    ):
        accepted[mid] = _day(at)  # type: ignore[assignment]
    out: dict[str, list[ind.MilestoneInput]] = defaultdict(list)
    for r in conn.execute(
        sa.select(MILESTONES.c.id, MILESTONES.c.project_id, MILESTONES.c.due_on).order_by(
            MILESTONES.c.id
        )
    ):
        out[r.project_id].append(ind.MilestoneInput(r.id, r.due_on, accepted.get(r.id)))
    return out


def _block_of_trade() -> Any:
    """Trades joined to the block that holds their first serial (its project and attributes)."""
    return (
        sa.select(
            TRADES.c.unit_type,
            TRADES.c.serial_start,
            TRADES.c.serial_end,
            TRADES.c.price_fen,
            BLOCKS.c.project_id,
            BLOCKS.c.attrs,
        )
        .select_from(TRADES)
        .join(
            BLOCKS,
            sa.and_(
                BLOCKS.c.unit_type == TRADES.c.unit_type,
                BLOCKS.c.serial_start <= TRADES.c.serial_start,
                BLOCKS.c.serial_end >= TRADES.c.serial_start,
            ),
        )
    )


def _units(conn: sa.Connection) -> tuple[dict[str, list[ind.UnitsInput]], dict[str, float]]:
    """Units per project (issued, retired, traded, value) and the proceeds of EST per mine."""
    count = BLOCKS.c.serial_end - BLOCKS.c.serial_start + 1
    acc: dict[tuple[str, str], dict[str, float]] = {}

    def rec(pid: str, ut: str) -> dict[str, float]:
        return acc.setdefault(
            (pid, ut), {"issued": 0, "retired": 0, "traded": 0, "traded_value_cny": 0.0}
        )

    for pid, ut, status, n in conn.execute(
        sa.select(BLOCKS.c.project_id, BLOCKS.c.unit_type, BLOCKS.c.status, sa.func.sum(count))
        .where(BLOCKS.c.status != "cancelled")
        .group_by(BLOCKS.c.project_id, BLOCKS.c.unit_type, BLOCKS.c.status)
    ):
        r = rec(pid, ut)
        r["issued"] += int(n)
        if status == "retired":
            r["retired"] += int(n)
    est_proceeds: dict[str, float] = defaultdict(float)
    for t in conn.execute(_block_of_trade()):
        r = rec(t.project_id, t.unit_type)
        r["traded"] += int(t.serial_end) - int(t.serial_start) + 1
        r["traded_value_cny"] += int(t.price_fen) / 100.0
        if t.unit_type == "EST":
            est_proceeds[str((t.attrs or {}).get("mine_id"))] += int(t.price_fen) / 100.0
    out: dict[str, list[ind.UnitsInput]] = defaultdict(list)
    for (pid, ut), r in sorted(acc.items()):
        u = UNIT_TYPES[ut]
        out[pid].append(
            ind.UnitsInput(
                unit_type=ut,
                measure=u.measure,
                issued=u.amount(int(r["issued"])),
                retired=u.amount(int(r["retired"])),
                traded=u.amount(int(r["traded"])),
                traded_value_cny=r["traded_value_cny"],
            )
        )
    return out, est_proceeds


def _earth_stone(
    store: Any, planned: set[str], proceeds: Mapping[str, float]
) -> dict[str, ind.EarthStoneInput]:
    """Each planned mine's earth and stone (restora.store.trading.earth_and_stone)."""
    from restora.store.trading import earth_and_stone

    out = {}
    for mine_id in sorted(planned):
        e = earth_and_stone(store, mine_id)
        out[mine_id] = ind.EarthStoneInput(
            mine_id=mine_id,
            approved_m3=float(e["approved_m3"]),
            sold_m3=float(e["sold_m3"]),
            hauled_m3=float(e["hauled_m3"]),
            proceeds_cny=float(proceeds.get(mine_id, 0.0)),
            alerts=len(e["alerts"]),
            has_plan=bool(e["has_plan"]),
        )
    return out


def project_inputs(store: Any, *, on: dt.date) -> list[ind.ProjectInput]:
    """Every live project as :class:`restora.evaluation.indicators.ProjectInput`.

    The funding classification uses the ``evaluation/funding-sources`` table in force on
    ``on``.
    """
    table = refdata.get(ind.FUNDING_TABLE, on=on).data
    with _read(store) as conn:
        mines = _mine_rows(conn)
        docs = _latest_documents(conn)
        listed, financed = _listed_financed(conn)
        milestones = _milestones(conn)
        units, est_proceeds = _units(conn)
        rows = conn.execute(
            sa.select(
                PROJECTS.c.project_id,
                PROJECTS.c.name,
                PROJECTS.c.region_code,
                PROJECTS.c.spec,
                PROJECTS.c.created_at,
            )
            .where(PROJECTS.c.deleted_at.is_(None))
            .order_by(PROJECTS.c.project_id)
        ).all()
        all_mines = {m for r in rows for m in (r.spec or {}).get("mines") or ()}
        planned = {
            m
            for (m,) in conn.execute(
                sa.select(SURPLUS.c.mine_id).where(SURPLUS.c.mine_id.in_(all_mines))
            )
        }
    est = _earth_stone(store, planned, est_proceeds)
    out = []
    for r in rows:
        spec = r.spec or {}
        mine_ids = [str(m) for m in spec.get("mines") or ()]
        known = [mines[m] for m in mine_ids if m in mines]
        doc, appraised_at = docs.get(r.project_id, ({}, None))
        mode, profile = _mode_profile(doc)
        party = None
        if known:
            party = "present" if (known[0].get("responsible_party") or "").strip() else "absent"
        ms = milestones.get(r.project_id, [])
        accepted = [m.accepted_on for m in ms if m.accepted_on is not None]
        completed = bool(ms) and len(accepted) == len(ms)
        esv, gep = _gains(doc)
        out.append(
            ind.ProjectInput(
                project_id=r.project_id,
                name=r.name,
                region_code=r.region_code,
                minerals=tuple(sorted({str(m["mineral"]) for m in known})),
                mode=mode,
                start_year=spec.get("start_year"),
                mine_areas={m["mine_id"]: m["area_hm2"] for m in known},
                completed=completed,
                funding=_funding(doc, profile, party, table) if doc else None,
                esv_gain_cny_per_yr=esv,
                gep_gain_cny_per_yr=gep,
                jobs=_jobs(doc) if doc else None,
                stage_dates={
                    "registered": _day(r.created_at),
                    "appraised": _day(appraised_at),
                    "listed": listed.get(r.project_id),
                    "financed": financed.get(r.project_id),
                    "first_signoff": min(accepted) if accepted else None,
                    "completed": max(accepted) if completed else None,
                },
                milestones=tuple(ms),
                units=tuple(units.get(r.project_id, ())),
                earth_stone=tuple(est[m] for m in mine_ids if m in est),
            )
        )
    return out


def add_appraised_project(
    store: Any,
    spec: Mapping[str, Any],
    document: dict[str, Any],
    *,
    change: Any = None,
    owner_org_id: int | None = None,
) -> dict[str, Any]:
    """Store a project and one appraisal document of it (no report files), e.g. the demo's.

    ``spec`` is the project file's content, ``document`` its appraisal.json (as ``restora
    appraise`` or ``restora demo`` writes it); the appraisal's inputs hash is the document's
    own ``inputs.spec_sha256`` (else the SHA-256 of the document). Returns the stored
    appraisal's row (without its document).
    """
    import hashlib
    import json

    from restora.store.projects import add_appraisal, create_project, get_project

    pid = str(spec["project_id"])
    if get_project(store, pid) is None:
        create_project(store, spec, owner_org_id=owner_org_id, change=change)
    digest = (document.get("inputs") or {}).get("spec_sha256") or hashlib.sha256(
        json.dumps(document, sort_keys=True, default=str).encode()
    ).hexdigest()
    row, _ = add_appraisal(
        store,
        pid,
        inputs_sha256=str(digest),
        on_date=str(document.get("on") or ""),
        document=document,
        place=lambda version: {},
        change=change,
    )
    return row


def evaluate(
    store: Any,
    *,
    filters: ind.Filters | None = None,
    on: dt.date | None = None,
    level: str = "county",
    measures: Sequence[str] = ("social_capital_cny", "restored_area_hm2"),
) -> dict[str, Any]:
    """The indicators of a selection, its figures by region and their disparity, as JSON.

    Returns
    -------
    dict
        :meth:`IndicatorSet.as_json` plus ``level``, ``regions`` (:func:`ind.by_region`),
        ``disparity`` (``{measure: …}``, :func:`ind.regional_disparity`, Theil decomposed by
        the level above: counties by city, cities by province) and ``tables`` (the
        reference tables used, with their versions and hashes).
    """
    on = on or dt.datetime.now(CST).date()
    filters = filters or ind.Filters()
    projects = project_inputs(store, on=on)
    mines = mine_inputs(store, on=on)
    result = ind.compute(projects, mines, filters=filters, on=on).as_json()
    regions = ind.by_region(projects, mines, level=level, filters=filters)
    group = ind.GROUP_LEVEL[level]
    result.update(
        level=level,
        regions=regions,
        disparity={m: ind.regional_disparity(regions, m, group_level=group) for m in measures},
        tables=[
            refdata.get(name, on=on).provenance()
            for name in (ind.INDICATORS_TABLE, ind.FUNDING_TABLE)
        ],
    )
    return result
