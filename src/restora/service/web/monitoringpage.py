"""The monitoring pages (issue 16; docs/web.md, docs/monitoring.md "API and pages").

``/monitoring`` (``monitoring.read``): the mines one may see that have sensors, worst first —
open alarms, open warnings, sensors offline — each linked to its live page.

``/mines/{mine_id}/monitoring`` (``monitoring.read``): the latest value of each sensor and
indicator coloured by its status against the thresholds in force (normal, warning, alarm),
the open alerts with their acknowledge and resolve buttons (for the ecology-environment
bureau, ``monitoring.write``), the sensors offline, the number of readings in the quarantine,
and a chart per indicator (Apache ECharts, time axis, one line per sensor, the warning and
alarm levels as lines).

The page refreshes itself without reloading: the live part is an htmx fragment
(``/mines/{mine_id}/monitoring/live``) polled every 10 s and after each acknowledge or
resolve; the charts read ``GET /api/v1/monitoring/mines/{mine_id}/series`` every 10 s
(``static/js/monitoring.js``). The buttons post to the API (``…/alerts/{id}/acknowledge``,
``…/resolve``) with the session's CSRF token, as every form of the site. Everything is read
from the API in process (:mod:`restora.service.api.monitoring`) with the caller's credentials,
so the page shows exactly what the API gives them. Times are shown in Beijing time (UTC+8).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from restora.service.permissions import allowed, page_action
from restora.service.web.i18n import N_
from restora.service.web.internal import api_get
from restora.service.web.pages import error_page, guard, html_errors
from restora.service.web.render import locale_of, render

router = APIRouter(include_in_schema=False)
API = "/api/v1/monitoring"
MineId = Annotated[str, Path(max_length=64)]
CST = dt.timezone(dt.timedelta(hours=8))
#: how often the page refreshes itself [s]
REFRESH_S = 10
#: the spans the charts offer [h]
SPANS = ((6, N_("6 hours")), (24, N_("24 hours")), (168, N_("7 days")), (720, N_("30 days")))

STATUS = {
    "ok": N_("normal"),
    "warning": N_("warning"),
    "alarm": N_("alarm"),
    "none": N_("no threshold"),
}
LEVELS = {"warning": N_("warning"), "alarm": N_("alarm")}
STATES = {
    "raised": N_("raised"),
    "acknowledged": N_("acknowledged"),
    "resolved": N_("resolved"),
}
KINDS = {
    "threshold": N_("threshold"),
    "rate": N_("rate of change"),
    "trend": N_("trend"),
    "offline": N_("sensor offline"),
}
DIRECTIONS = {
    "above": N_("above is bad"),
    "below": N_("below is bad"),
    "outside": N_("outside the range is bad"),
}


def bj(value: Any, fmt: str = "%m-%d %H:%M") -> str:
    """A time of the API (ISO 8601, UTC) in Beijing time."""
    if not value:
        return "—"
    t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(CST).strftime(fmt)


def value_text(value: Any) -> str:
    """A reading as people read it: four significant digits (0.003, 12.5, 1 234)."""
    if value is None:
        return "—"
    x = float(value)
    if x != 0 and abs(x) < 1:
        return f"{x:.4g}"
    return (
        f"{x:,.4g}".replace(",", "\u2009") if abs(x) < 1e4 else f"{x:,.0f}".replace(",", "\u2009")
    )


def silent_text(seconds: Any) -> str:
    """How long a sensor has been silent: ``45 min``, ``3.5 h``, ``2.0 d``."""
    if seconds is None:
        return "—"
    s = float(seconds)
    if s < 3600:
        return f"{s / 60:.0f} min"
    if s < 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"


def indicator_names(zh: bool) -> dict[str, str]:
    """Indicator code → its name in the page's language (the catalogue's)."""
    from restora.monitoring import catalogue

    return {i.code: i.name_zh if zh else i.name_en for i in catalogue.indicators()}


def _context(request: Request, view: dict[str, Any], who: Any) -> dict[str, Any]:
    zh = locale_of(request) == "zh_CN"
    for row in view["latest"]:
        row["label"] = (row.get("name_zh") if zh else row.get("name_en")) or row["indicator"]
    sensors = view["sensors"]
    return {
        "view": view,
        "names": indicator_names(zh),
        "zh": zh,  # a threshold alert's stored message is English: the columns say it all
        "mine_id": view["mine_id"],
        "offline": [s for s in sensors if s["offline"]],
        "may_write": allowed(who.role, "monitoring.write"),
        "refresh_s": REFRESH_S,
        "words": {
            "status": STATUS,
            "level": LEVELS,
            "state": STATES,
            "kind": KINDS,
            "direction": DIRECTIONS,
        },
        "bj": bj,
        "value_text": value_text,
        "silent_text": silent_text,
    }


async def _view(request: Request, who: Any, mine_id: str) -> dict[str, Any] | Response:
    status, view = await api_get(request, f"{API}/mines/{mine_id}")
    if status != 200 or not isinstance(view, dict):
        return await error_page(request, 404, N_("No such mine in your region."), who)
    return view


@router.get("/mines/{mine_id}/monitoring", dependencies=[Depends(page_action("monitoring.read"))])
@html_errors
async def monitoring_page(request: Request, mine_id: MineId) -> Response:
    who = await guard(request, "monitoring.read")
    if isinstance(who, Response):
        return who
    view = await _view(request, who, mine_id)
    if isinstance(view, Response):
        return view
    return await render(
        request,
        "monitoring.html",
        {**_context(request, view, who), "spans": SPANS, "span": 24, "name": view["name"]},
        principal=who,
    )


@router.get(
    "/mines/{mine_id}/monitoring/live", dependencies=[Depends(page_action("monitoring.read"))]
)
async def monitoring_live(request: Request, mine_id: MineId) -> Response:
    """The live part of the page (an htmx fragment, polled every 10 s)."""
    who = await guard(request, "monitoring.read")
    if isinstance(who, Response):
        return who
    view = await _view(request, who, mine_id)
    if isinstance(view, Response):
        return view
    return await render(
        request, "_monitoring_live.html", _context(request, view, who), principal=who
    )


def overview_rows(sensors: list[dict[str, Any]], alerts: list[dict[str, Any]]) -> list[dict]:
    """One row per mine with sensors or open alerts: sensors, offline, open alarms and
    warnings, the newest open alert; worst first (alarms, warnings, offline, then by id)."""
    rows: dict[str, dict[str, Any]] = {}

    def row(mine_id: str) -> dict[str, Any]:
        return rows.setdefault(
            mine_id,
            {"mine_id": mine_id, "sensors": 0, "offline": 0, "alarm": 0, "warning": 0,
             "latest": None},
        )  # fmt: skip

    for s in sensors:
        r = row(s["mine_id"])
        r["sensors"] += 1
        r["offline"] += bool(s.get("offline"))
    for a in alerts:  # newest first
        r = row(a["mine_id"])
        if a.get("level") in ("alarm", "warning"):
            r[a["level"]] += 1
        if r["latest"] is None:
            r["latest"] = a
    return sorted(
        rows.values(), key=lambda r: (-r["alarm"], -r["warning"], -r["offline"], r["mine_id"])
    )


@router.get("/monitoring", dependencies=[Depends(page_action("monitoring.read"))])
@html_errors
async def monitoring_overview(request: Request) -> Response:
    """The mines under monitoring, worst first."""
    import sqlalchemy as sa

    from restora.monitoring import catalogue
    from restora.store.tables import metadata

    who = await guard(request, "monitoring.read")
    if isinstance(who, Response):
        return who
    s_status, sensors = await api_get(request, f"{API}/sensors")
    a_status, alerts = await api_get(request, f"{API}/alerts", {"state": "open", "limit": 1000})
    if s_status != 200 or a_status != 200:
        return await error_page(request, 500, N_("The monitoring could not be read."), who)
    rows = overview_rows(sensors, alerts)
    mines = metadata.tables["mines"]
    ids = [r["mine_id"] for r in rows]
    names: dict[str, tuple[str, str | None]] = {}
    if ids:  # the names of mines the API has just shown this caller
        with request.app.state.store.engine.connect() as conn:
            q = sa.select(mines.c.mine_id, mines.c.name, mines.c.region_code).where(
                mines.c.mine_id.in_(ids)
            )
            names = {m: (n, rc) for m, n, rc in conn.execute(q)}
    for r in rows:
        r["name"], r["region_code"] = names.get(r["mine_id"], (r["mine_id"], None))
    zh = locale_of(request) == "zh_CN"
    return await render(
        request,
        "monitoring_overview.html",
        {
            "rows": rows,
            "names": indicator_names(zh),
            "units": {i.code: i.unit for i in catalogue.indicators()},
            "words": {"level": LEVELS, "kind": KINDS},
            "bj": bj,
            "value_text": value_text,
            "totals": {
                k: sum(r[k] for r in rows) for k in ("sensors", "offline", "alarm", "warning")
            },
        },
        principal=who,
    )
