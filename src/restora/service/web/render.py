"""Rendering a page: one Jinja2 environment per language, the request's principal, language,
CSRF token and navigation in every template's context.

Templates live in ``service/templates`` (``base.html`` the frame: header, navigation by role,
中文 / English switch; pages extend it). They never hold a script or a style: every script is a
file under ``/static`` (the app's CSP is ``script-src 'self'; style-src 'self'``), data for a
script travels in ``data-*`` attributes or a ``<script type="application/json">`` block.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from restora import labels
from restora.service.permissions import allowed
from restora.service.security import Principal, current_principal
from restora.service.web import i18n
from restora.service.web.i18n import N_

STATIC_PREFIX = "/static"

#: the navigation: (path, label, action the role needs or None for everyone signed in)
NAV: tuple[tuple[str, str, str | None], ...] = (
    ("/map", N_("Register map"), "register.read"),
    ("/projects", N_("Projects"), "project.read"),
    ("/library", N_("Library"), "library.read"),
    ("/products", N_("Products"), "supply.manage"),
    ("/offers", N_("Offers"), "market.inbox"),
    ("/registry", N_("Registry"), "registry.read"),
    ("/registry/trading", N_("Trading"), "trading.read"),
    ("/evaluation", N_("Policy evaluation"), "evaluation.read"),
    ("/monitoring", N_("Monitoring"), "monitoring.read"),
    ("/integrity", N_("Integrity records"), "integrity.read"),
    ("/jobs", N_("Jobs"), "job.read"),
    ("/complaints", N_("Complaints"), "complaint.read"),
    ("/audit", N_("Audit trail"), "audit.read"),
    ("/public", N_("Public disclosure"), None),
)

ROLE_NAMES = {
    "admin": N_("Administrator"),
    "natural_resources": N_("Natural resources bureau"),
    "ecology_environment": N_("Ecology and environment bureau"),
    "finance": N_("Finance (bank, investor, guarantor, insurer)"),
    "enterprise": N_("Restoration enterprise"),
    "evaluator": N_("Third-party evaluator"),
    "village": N_("Village collective"),
    "public": N_("The public"),
}


@functools.cache
def _vendor_index() -> dict[str, str]:
    from restora.service.app import STATIC_DIR

    path = STATIC_DIR / "vendor" / "manifest.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {p["name"]: p["folder"] for p in doc["packages"]}


def vendor_url(name: str, file: str) -> str:
    """URL of a vendored file: ``vendor_url("htmx.org", "htmx.min.js")``."""
    return f"{STATIC_PREFIX}/vendor/{_vendor_index()[name]}/{file}"


def vendored() -> list[dict[str, Any]]:
    """The vendored packages with versions and licences (the about page lists them)."""
    from restora.service.app import STATIC_DIR

    doc = json.loads((STATIC_DIR / "vendor" / "manifest.json").read_text(encoding="utf-8"))
    return list(doc["packages"])


def _fmt_number(value: Any, digits: int = 0) -> str:
    """A number with thin thousands separators (``1 234 567.8``); ``—`` for none."""
    if value is None or value == "":
        return "—"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if x != x:  # NaN
        return "—"
    return f"{x:,.{digits}f}".replace(",", "\u2009")


def _when(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time (datetime or ISO 8601 text, as the API gives it) as ``fmt``; ``—`` for none."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return str(value.strftime(fmt))


@functools.cache
def environment(locale: str) -> jinja2.Environment:
    """The Jinja2 environment of one language (translations installed, autoescaping on)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(i18n.TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(("html", "xml")),
        extensions=[i18n.JINJA_EXTENSIONS],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    lang = i18n.LABEL_LANG[locale]
    env.globals.update(
        vendor=vendor_url,
        static=lambda path: f"{STATIC_PREFIX}/{path}",
        locale=locale,
        html_lang=i18n.HTML_LANG[locale],
        label=lambda code, category=None: labels.label(code, lang, category),
        tojson_attr=lambda obj: json.dumps(obj, ensure_ascii=False, default=str),
    )
    env.filters["num"] = _fmt_number
    env.filters["when"] = _when
    env.filters["pct"] = lambda v, d=1: "—" if v is None else f"{float(v) * 100:.{d}f}\u2009%"
    return env


def locale_of(request: Request) -> str:
    """The language of the request (cookie, Accept-Language, default Chinese)."""
    return i18n.negotiate(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))


def csrf_token(request: Request) -> str | None:
    """The CSRF token of the request's session, for forms and htmx (``request.state.session``,
    set by :func:`restora.service.auth.authenticate`); None without a session."""
    session = getattr(request.state, "session", None)
    return getattr(session, "csrf_token", None)


def gettext(request: Request, message: str) -> str:
    """``message`` translated into the request's language (for Python-made text)."""
    return i18n.translations(locale_of(request)).gettext(message)


async def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    principal: Principal | None = None,
) -> HTMLResponse:
    """The page ``template`` with ``context``, in the request's language."""
    locale = locale_of(request)
    who = principal if principal is not None else await current_principal(request)
    nav = [
        (path, text)
        for path, text, action in NAV
        if (action is None or (who.signed_in and allowed(who.role, action)))
    ]
    ctx: dict[str, Any] = {
        "request": request,
        "principal": who,
        "role_name": ROLE_NAMES.get(who.role, who.role),
        "nav": nav,
        # the entry of the page: the longest matching path (/registry/trading, not /registry)
        "nav_current": max(
            (h for h, _t in nav if request.url.path == h or request.url.path.startswith(h + "/")),
            key=len,
            default=None,
        ),
        "path": request.url.path,
        "here": quote(
            str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
        ),
        "csrf_token": csrf_token(request),
        "request_id": getattr(request.state, "request_id", ""),
    }
    ctx.update(context or {})
    html = environment(locale).get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status)


def signin_redirect(request: Request) -> RedirectResponse:
    """To the sign-in page, coming back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(here)}", status_code=303)
