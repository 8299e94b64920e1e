"""Errors as RFC 9457 problem details (``application/problem+json``) that name the field.

Every error the API returns has ``type``, ``title``, ``status``, ``detail`` and ``instance``
(the request path), the request id, and for bad input ``errors``: one entry per problem with
its ``field`` (the dotted path, as the CLI names it), ``message`` and, for file imports, the
``file`` and ``row``. The CLI's exit codes map to statuses: bad input (exit 2) → 422 (400 for a
body that is not JSON), other failures (exit 1) → 409 when the store is busy, else 500.

References
----------
RFC 9457, Problem Details for HTTP APIs (2023), https://www.rfc-editor.org/rfc/rfc9457.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from restora.errors import InputError, RestoraError

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("restora.service")

TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Not ready",
}


class Problem(Exception):
    """An error a route raises on purpose: status, a sentence for people, optional field errors."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.errors = errors or []
        self.headers = headers


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The response of one problem."""
    body: dict[str, Any] = {
        "type": f"/problems/{kind}" if kind else "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_errors(exc: InputError) -> list[dict[str, Any]]:
    out = []
    for p in exc.problems:
        item: dict[str, Any] = {"field": p.field, "message": p.message}
        if p.file:
            item["file"] = p.file
        if p.row is not None:
            item["row"] = p.row
        out.append(item)
    return out


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        loc = [str(x) for x in e.get("loc", ())]
        where = loc[0] if loc else "body"
        path = (
            ".".join(loc[1:])
            if loc and loc[0] in ("body", "query", "path", "header")
            else ".".join(loc)
        )
        kind = e.get("type", "")
        msg = (
            "required" if kind == "missing" else str(e.get("msg", "")).removeprefix("Value error, ")
        )
        out.append({"field": path or None, "in": where, "message": msg})
    return out


#: The JSON schema of a problem document (components/schemas/Problem of the OpenAPI document).
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error as RFC 9457 problem details naming the field",
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "description": "/problems/<kind> or about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer", "description": "the HTTP status"},
        "detail": {"type": "string", "description": "what is wrong, for people"},
        "instance": {"type": "string", "description": "the request's path"},
        "request_id": {"type": ["string", "null"], "description": "X-Request-ID"},
        "errors": {
            "type": "array",
            "description": "one entry per problem of the input",
            "items": {
                "type": "object",
                "properties": {
                    "field": {
                        "type": ["string", "null"],
                        "description": "the field's dotted path (metals_mg_per_kg.Cd)",
                    },
                    "in": {"type": "string", "description": "body, query, path or header"},
                    "message": {"type": "string"},
                    "file": {"type": "string", "description": "the file (imports)"},
                    "row": {"type": ["integer", "string"], "description": "the file's row"},
                },
                "required": ["message"],
            },
        },
    },
}
_PROBLEM_CONTENT = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def document(doc: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with every error answer as it is: problem details.

    Each operation's 4xx answers (FastAPI's 422 ``HTTPValidationError`` among them) become
    ``application/problem+json`` with the :data:`PROBLEM_SCHEMA`, and a ``4XX`` answer documents
    the rest (401, 403, 404, 409, 413, 429 …), so clients and schemathesis read the answers the
    API gives.
    """
    for item in doc.get("paths", {}).values():
        for method, op in item.items():
            if method not in ("get", "put", "post", "delete", "patch", "head", "options"):
                continue
            responses = op.setdefault("responses", {})
            for code, answer in responses.items():
                if str(code).startswith("4"):
                    answer["content"] = dict(_PROBLEM_CONTENT)
                    if str(code) == "422":
                        answer["description"] = "Invalid input: problem details naming each field"
            responses.setdefault(
                "4XX",
                {"description": "Problem details (RFC 9457)", "content": dict(_PROBLEM_CONTENT)},
            )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    text = json.dumps(doc)
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{unused}"' not in text:
            schemas.pop(unused, None)
    return doc


def _document_on(app: FastAPI) -> None:
    """Make ``app.openapi()`` return :func:`document` of FastAPI's document (built once)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if getattr(app.state, "problems_documented", False) and app.openapi_schema:
            return app.openapi_schema
        app.openapi_schema = document(build())
        app.state.problems_documented = True
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    """Register the problem-details handlers on ``app`` (and document them in its OpenAPI)."""
    _document_on(app)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            request, exc.status, exc.detail, kind=exc.kind, errors=exc.errors, headers=exc.headers
        )

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> JSONResponse:
        first = exc.problems[0]
        return problem_response(
            request, 422, str(first), kind="invalid-input", errors=_field_errors(exc)
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        if any(e.get("in") == "body" and e["message"].startswith("JSON decode") for e in errors):
            return problem_response(request, 400, "the body is not valid JSON", kind="bad-json")
        where = ", ".join(str(e["field"]) for e in errors if e["field"]) or "the request"
        return problem_response(
            request, 422, f"invalid input: {where}", kind="invalid-input", errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            request, exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(RestoraError)
    async def _restora(request: Request, exc: RestoraError) -> JSONResponse:
        from restora.errors import StoreBusyError

        status = 409 if isinstance(exc, StoreBusyError) else 500
        return problem_response(
            request, status, str(exc), kind="store-busy" if status == 409 else None
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", extra={"path": request.url.path})
        return problem_response(
            request, 500, "an internal error; it has been logged with the request id"
        )
