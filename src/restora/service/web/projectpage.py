"""Projects: the list a role may see, and a project's page — its appraisal (a stored version:
summary, charts of cash flows, the NPV distribution and cost by phase), its versions with their
documents (HTML, PDF, XLSX in each language made) and the button that starts a new appraisal
(a background job whose progress the page polls).

Everything comes from the projects API (:mod:`restora.service.api.projects`) read in process,
so which projects a role sees is the matrix's record rule
(:func:`restora.service.permissions.check_project`), not a copy of it here.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from restora.service.permissions import allowed
from restora.service.problems import Problem
from restora.service.security import Principal
from restora.service.web.internal import api_get, api_json

API = "/api/v1/projects"
#: the documents of a version, in the order the page lists them: (link key prefix, label)
DOCUMENTS = (("pdf", "PDF"), ("html", "HTML"), ("xlsx", "XLSX"))


async def project_list(request: Request, who: Principal) -> list[dict[str, Any]]:
    body = await api_json(request, API, {"limit": 500, "sort": "project_id"})
    out = []
    for p in body.get("items", []):
        versions = None
        if allowed(who.role, "appraisal.read"):
            status, rows = await api_get(request, f"{API}/{p['project_id']}/appraisals")
            versions = len(rows) if status == 200 and isinstance(rows, list) else None
        out.append({**p, "mines": (p.get("spec") or {}).get("mines", []), "versions": versions})
    return out


def _downloads(links: dict[str, str]) -> list[dict[str, str]]:
    """The version's documents: ``{"kind", "lang", "url"}`` for each one made."""
    out = []
    for lang in ("zh", "en"):
        for kind, text in DOCUMENTS:
            url = links.get(f"{kind}_{lang}")
            if url:
                out.append({"kind": kind, "text": text, "lang": lang, "url": url})
    return out


async def project_context(
    request: Request, who: Principal, project_id: str, version: int | None
) -> dict[str, Any]:
    project = await api_json(request, f"{API}/{project_id}")
    versions: list[dict[str, Any]] = []
    may_read = allowed(who.role, "appraisal.read")
    if may_read:
        versions = await api_json(request, f"{API}/{project_id}/appraisals")
        for v in versions:
            v["downloads"] = _downloads(v.get("links") or {})
    shown = version or (versions[0]["version"] if versions else None)
    document = None
    if shown is not None and may_read:
        document = await api_json(request, f"{API}/{project_id}/appraisals/{shown}")
    elif version is not None:
        raise Problem(404, f"no version {version} of {project_id!r}", kind="not-found")
    return {
        **await financing(request, project_id),
        "project": project,
        "versions": versions,
        "shown": shown,
        "summary": summary(document) if document else None,
        "charts": charts(document) if document else None,
        "may_run": allowed(who.role, "appraisal.run"),
        "may_read": may_read,
        "start_url": f"{API}/{project_id}/appraisals",
    }


async def financing(request: Request, project_id: str) -> dict[str, Any]:
    """The financing part of the page: the project's milestones (status) and the
    performance-bond tranches their sign-offs released (tier, fraction, amount), read from the
    verification API (:mod:`restora.service.api.verification`)."""
    from restora.service.web.verificationpage import words

    status, milestones = await api_get(
        request, "/api/v1/monitoring/milestones", {"project_id": project_id}
    )
    status2, releases = await api_get(request, f"/api/v1/monitoring/projects/{project_id}/tranches")
    releases = releases if status2 == 200 and isinstance(releases, list) else []
    return {
        "milestones": milestones if status == 200 and isinstance(milestones, list) else [],
        "releases": releases,
        "released_total": sum(float(r["amount_cny"]) for r in releases),
        "words": words(),
    }


def _get(doc: dict[str, Any], *path: str) -> Any:
    cur: Any = doc
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    """The figures of the summary cards (None where a stage was not assessed)."""
    s = doc.get("stages") or {}
    note = str(_get(doc, "project", "note") or "")
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
        "not_assessed": doc.get("not_assessed") or {},
        "fictional": "fictional" in note.lower() or "虚构" in note,
    }


def charts(doc: dict[str, Any]) -> dict[str, Any]:
    """Data of the project page's ECharts (``static/js/charts.js`` draws them)."""
    s = doc.get("stages") or {}
    rows = _get(s, "cashflow", "rows") or []
    by_phase = _get(s, "cost", "by_phase") or {}
    hist = _get(s, "risk", "npv_histogram") or {}
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
    }
