"""Projects: the list a role may see, and a project's page — its appraisal (a stored version:
summary, charts of cash flows, cost by phase, the NPV distribution and ESV before/after), its
versions with their documents (HTML, PDF, XLSX) and the button that starts a new appraisal.

Which projects a role sees: the admin all; ``finance`` the published ones; ``enterprise`` those
of its organisation; the other roles those of their region scope.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import Request

from restora.service.permissions import allowed, in_scope
from restora.service.problems import Problem
from restora.service.security import Principal
from restora.store import platform_tables as PT

P, A = PT.projects, PT.appraisals
API = "/api/v1"
FORMATS = ("html", "pdf", "xlsx")


def appraisals_url(project_id: str) -> str:
    """Where a new appraisal of the project is started (POST) and its versions listed."""
    return f"{API}/projects/{project_id}/appraisals"


def download_url(project_id: str, version: int, fmt: str) -> str:
    """A stored appraisal's document: ``fmt`` one of html, pdf, xlsx (or json)."""
    return f"{API}/projects/{project_id}/appraisals/{version}/{fmt}"


def visible(principal: Principal) -> Any:
    """The WHERE clause of the projects ``principal`` may see."""
    live = P.c.deleted_at.is_(None)
    if principal.role == "admin":
        return live
    if principal.role == "finance":
        return sa.and_(live, P.c.published.is_(True))
    if principal.role == "enterprise":
        return sa.and_(live, P.c.owner_org_id == principal.org_id)
    return live  # region scope is checked per row (the code may be a prefix)


def _in_scope(principal: Principal, row: Any) -> bool:
    if principal.role in ("admin", "finance", "enterprise"):
        return True
    return in_scope(principal.region, row.region_code or "")


def project_list(request: Request, who: Principal) -> list[dict[str, Any]]:
    latest = (
        sa.select(A.c.project_id, sa.func.max(A.c.version).label("versions"))
        .group_by(A.c.project_id)
        .subquery()
    )
    q = (
        sa.select(
            P.c.project_id,
            P.c.name,
            P.c.name_en,
            P.c.region_code,
            P.c.published,
            P.c.spec,
            latest.c.versions,
        )
        .select_from(P.outerjoin(latest, latest.c.project_id == P.c.project_id))
        .where(visible(who))
        .order_by(P.c.project_id)
    )
    with request.app.state.store.engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        rows = conn.execute(q).all()
    return [
        {**dict(r._mapping), "mines": (r.spec or {}).get("mines", [])}
        for r in rows
        if _in_scope(who, r)
    ]


def project_context(
    request: Request, who: Principal, project_id: str, version: int | None
) -> dict[str, Any]:
    with request.app.state.store.engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        row = conn.execute(sa.select(P).where(P.c.project_id == project_id, visible(who))).first()
        if row is None or not _in_scope(who, row):
            raise Problem(404, f"no project {project_id!r}", kind="not-found")
        versions = [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(
                    A.c.version,
                    A.c.inputs_sha256,
                    A.c.on_date,
                    A.c.lang,
                    A.c.created_at,
                    A.c.files,
                    A.c.job_id,
                )
                .where(A.c.project_id == project_id)
                .order_by(A.c.version.desc())
            ).all()
        ]
        shown = version or (versions[0]["version"] if versions else None)
        document = None
        if shown is not None:
            document = conn.execute(
                sa.select(A.c.document).where(A.c.project_id == project_id, A.c.version == shown)
            ).scalar()
            if document is None:
                raise Problem(404, f"no version {shown} of {project_id!r}", kind="not-found")
    for v in versions:
        files = v.get("files") or {}
        v["downloads"] = [
            (fmt, download_url(project_id, v["version"], fmt)) for fmt in FORMATS if fmt in files
        ]
    return {
        "project": dict(row._mapping),
        "versions": versions,
        "shown": shown,
        "summary": summary(document) if document else None,
        "charts": charts(document) if document else None,
        "may_run": allowed(who.role, "appraisal.run"),
        "start_url": appraisals_url(project_id),
    }


def _get(doc: dict[str, Any], *path: str) -> Any:
    cur: Any = doc
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    """The figures of the summary table (None where a stage was not assessed)."""
    s = doc.get("stages") or {}
    return {
        "on": doc.get("on"),
        "npv_cny": _get(s, "cashflow", "npv_cny"),
        "irr": _get(s, "cashflow", "irr"),
        "payback_years": _get(s, "cashflow", "payback_years"),
        "discount_rate": _get(s, "cashflow", "discount_rate"),
        "cost_p50_cny": _get(s, "cost", "total_p50_cny"),
        "cost_p90_cny": _get(s, "cost", "total_p90_cny"),
        "price_year": _get(s, "cost", "price_year"),
        "revenue_cny": _get(s, "revenue", "total_unrestricted_cny"),
        "esv_before": _get(s, "value", "esv", "before_cny_per_yr"),
        "esv_after": _get(s, "value", "esv", "after_cny_per_yr"),
        "p_npv_negative": _get(s, "risk", "summary", "p_npv_negative"),
        "npv_p10": _get(s, "risk", "summary", "npv", "p10"),
        "npv_p90": _get(s, "risk", "summary", "npv", "p90"),
        "not_assessed": doc.get("not_assessed") or {},
        "fictional": "fictional" in str(_get(doc, "project", "note") or "").lower()
        or "虚构" in str(_get(doc, "project", "note") or ""),
        "note": _get(doc, "project", "note"),
    }


def charts(doc: dict[str, Any]) -> dict[str, Any]:
    """Data of the project page's ECharts (static/js/charts.js draws them)."""
    s = doc.get("stages") or {}
    rows = _get(s, "cashflow", "rows") or []
    by_phase = _get(s, "cost", "by_phase") or {}
    hist = _get(s, "risk", "npv_histogram") or {}
    esv = _get(s, "value", "esv") or {}
    edges = hist.get("edges_cny") or []
    counts = hist.get("counts") or []
    return {
        "cashflow": {
            "years": [r.get("year") for r in rows],
            "revenue": [r.get("revenue_cny") for r in rows],
            "capex": [-(r.get("capex_cny") or 0.0) for r in rows],
            "opex": [-(r.get("opex_cny") or 0.0) for r in rows],
            "cumulative": [r.get("cumulative_cny") for r in rows],
        },
        "cost_by_phase": {
            "phases": list(by_phase),
            "p50": [(v or {}).get("p50_cny") for v in by_phase.values()],
        },
        "npv_histogram": {
            "centres": [
                (edges[i] + edges[i + 1]) / 2.0 for i in range(min(len(edges) - 1, len(counts)))
            ],
            "counts": list(counts),
        },
        "esv": {
            "before": esv.get("before_cny_per_yr"),
            "after": esv.get("after_cny_per_yr"),
        },
    }
