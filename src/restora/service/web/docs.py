"""The API's documentation page, ``/api/v1/docs``: Swagger UI from the vendored swagger-ui-dist
(never a CDN), made by FastAPI's :func:`~fastapi.openapi.docs.get_swagger_ui_html`.

That page starts Swagger UI with one inline script; the app's CSP allows scripts from the app
only, so this one response carries a CSP that adds exactly that script's SHA-256 (CSP Level 2
hash source) and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from restora.service.middleware import CSP
from restora.service.web.render import vendor_url

router = APIRouter(include_in_schema=False)
_INLINE = re.compile(r"<script>(.*?)</script>", re.S)


def csp_with_hashes(html: str) -> str:
    """The app's CSP with ``'sha256-…'`` sources for the inline scripts of ``html``."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE.findall(html)
    )
    return CSP.replace("script-src 'self'", f"script-src 'self' {hashes}".rstrip(), 1)


@router.get("/api/v1/docs")
def api_docs(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/api/v1/openapi.json",
        title="Restora API",
        swagger_js_url=vendor_url("swagger-ui-dist", "swagger-ui-bundle.js"),
        swagger_css_url=vendor_url("swagger-ui-dist", "swagger-ui.css"),
        swagger_favicon_url="/static/img/favicon.svg",
    )
    html = bytes(page.body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": csp_with_hashes(html)})
