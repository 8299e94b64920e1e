"""Request ids, structured JSON logs and security headers on every response.

- Every request gets an id (``X-Request-ID`` if the client or proxy sent a sane one, else a new
  one), echoed in the response header, in problem details and in every log line.
- One JSON log line per request: time, level, request id, method, path, status, duration [ms],
  client address, role.
- Security headers: a Content-Security-Policy without inline scripts or styles from elsewhere
  (``script-src 'self'``: every script is a file served by the app), no framing, no sniffing,
  no referrer across origins, and HSTS when the app is behind TLS.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("restora.service.access")
log_errors = logging.getLogger("restora.service")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
)


class JsonFormatter(logging.Formatter):
    """Log records as one JSON object per line (extra fields included)."""

    RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for k, v in vars(record).items():
            if k not in self.RESERVED and not k.startswith("_"):
                out[k] = v
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    """JSON logs on stderr for the ``restora`` loggers (idempotent)."""
    root = logging.getLogger("restora")
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


class RequestContext:
    """Request id, access log line and security headers (a plain ASGI middleware: no extra
    task per request, so it costs little under load)."""

    def __init__(self, app: ASGIApp, *, behind_tls: bool = False) -> None:
        self.app = app
        extra = [
            (b"content-security-policy", CSP.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if behind_tls:
            extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        self.extra = extra

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for k, v in scope.get("headers", ()):
            if k == b"x-request-id":
                given = v.decode("latin-1")
                break
        rid = given if _SANE_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        t0 = time.perf_counter()
        status = 500

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                have = {k.lower() for k, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                headers += [(k, v) for k, v in self.extra if k not in have]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # handled here, inside the request's context, so that the traceback is logged with
            # the request id and the 500 carries the request id and the security headers
            log_errors.exception(
                "unexpected error",
                extra={"request_id": rid, "method": scope.get("method"), "path": scope.get("path")},
            )
            if started:
                raise  # the response was under way: nothing else can be sent
            await _internal_error(scope, rid, send_with_headers)
        finally:
            principal = state.get("principal")
            client = scope.get("client")
            log.info(
                "request",
                extra={
                    "request_id": rid,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - t0) * 1000.0, 2),
                    "client": client[0] if client else None,
                    "role": getattr(principal, "role", None),
                },
            )


async def _internal_error(scope: Scope, rid: str, send: Send) -> None:
    """The RFC 9457 problem of an unexpected error (as restora.service.problems writes it)."""
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Internal error",
            "status": 500,
            "detail": "an internal error; it has been logged with the request id",
            "instance": scope.get("path"),
            "request_id": rid,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
