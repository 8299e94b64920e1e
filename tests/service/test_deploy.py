"""Running it for real: security headers (also on errors), one JSON log line per request with
its request id, a 500's traceback logged with the request id, readiness with the broker, and
``restora serve`` with several uvicorn workers on SQLite and PostgreSQL (the store migrated
once, one secret key for all workers)."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from restora.service import antispam
from restora.service.middleware import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]
RESTORA = [sys.executable, "-c", "from restora.cli import main; main()"]


@pytest.fixture
def log_lines() -> Iterator[Any]:
    """A function giving the JSON lines the ``restora`` loggers wrote so far in the test."""
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("restora")
    root.addHandler(handler)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]

    try:
        yield lines
    finally:
        root.removeHandler(handler)


def _security_headers(headers: Any) -> None:
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert len(headers["x-request-id"]) >= 8


def test_security_headers_on_every_kind_of_response(app):
    def boom() -> None:
        raise RuntimeError("kaboom")

    app.add_api_route("/test-boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        for path, status in [
            ("/healthz", 200),
            ("/api/v1/public/mines", 200),
            ("/api/v1/public/mines/NOPE", 404),
            ("/api/v1/public/mines?limit=0", 422),
            ("/api/v1/complaints", 401),
            ("/test-boom", 500),
        ]:
            r = c.get(path)
            assert r.status_code == status, path
            _security_headers(r.headers)
            assert "strict-transport-security" not in r.headers  # not behind TLS


def test_hsts_behind_tls(store_url, tmp_path):
    from restora.service.app import create_app
    from restora.service.settings import Settings

    app = create_app(
        Settings(
            database_url=store_url,
            secret_key="k",
            secret_key_from_env=True,
            data_dir=tmp_path,
            behind_tls=True,
        )
    )
    with TestClient(app) as c:
        r = c.get("/healthz")
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")


def test_one_json_line_per_request_with_its_id(client, log_lines):
    client.get("/healthz", headers={"X-Request-ID": "deploy-test-0001"})
    client.get("/api/v1/public/mines/NOPE", headers={"X-Request-ID": "deploy-test-0002"})
    client.get("/healthz", headers={"X-Request-ID": "<bad id>"})
    access = [x for x in log_lines() if x["logger"] == "restora.service.access"]
    assert [(x["request_id"], x["path"], x["status"]) for x in access[:2]] == [
        ("deploy-test-0001", "/healthz", 200),
        ("deploy-test-0002", "/api/v1/public/mines/NOPE", 404),
    ]
    assert access[2]["request_id"] != "<bad id>" and len(access[2]["request_id"]) == 32
    for x in access:
        assert {"time", "level", "method", "duration_ms", "client", "role"} <= set(x)
        assert x["time"].endswith("Z") and x["duration_ms"] >= 0


def test_a_500_logs_its_traceback_with_the_request_id(app, log_lines):
    """Failed at e3e438a: the unexpected error was answered outside the request's middleware,
    so its log line had no request id and the 500 had neither X-Request-ID nor the CSP."""

    def broken() -> None:
        raise ZeroDivisionError("the divisor of the test")

    app.add_api_route("/test-broken", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/test-broken", headers={"X-Request-ID": "deploy-test-500"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "deploy-test-500"
    body = r.json()
    assert body["request_id"] == "deploy-test-500" and "divisor" not in r.text  # no detail leaks
    errors = [x for x in log_lines() if x["level"] == "ERROR"]
    assert len(errors) == 1 and errors[0]["request_id"] == "deploy-test-500"
    assert (
        "Traceback" in errors[0]["exception"]
        and "the divisor of the test" in errors[0]["exception"]
    )
    access = [
        x for x in log_lines() if x.get("request_id") == "deploy-test-500" and x["level"] == "INFO"
    ]
    assert access and access[0]["status"] == 500


def test_readiness_checks_the_broker_when_there_is_one(client):
    app = client.app
    try:
        app.state.broker_ping = lambda: True
        r = client.get("/readyz")
        assert r.status_code == 200 and r.json()["checks"] == {"store": "ok", "broker": "ok"}

        def down() -> None:
            raise ConnectionError("refused")

        app.state.broker_ping = down
        r = client.get("/readyz")
        assert r.status_code == 503 and "broker: unreachable: ConnectionError" in r.json()["detail"]
        assert client.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        app.state.broker_ping = None


# ------------------------------------------------------------------------- restora serve
def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESTORA_")}
    env.update(extra)
    return env


def test_serve_refuses_several_workers_without_a_secret_key(tmp_path):
    r = subprocess.run(
        [*RESTORA, "serve", "--workers", "2", "--db", f"sqlite:///{tmp_path / 's.db'}"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    assert "RESTORA_SECRET_KEY" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "s.db").exists()  # refused before the store was touched


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_and_check(db_url: str, tmp_path: Path) -> None:
    """``restora serve --workers 2``: ready, the same key in both workers, JSON logs."""
    port = _free_port()
    env = _env(
        RESTORA_SECRET_KEY="serve-test-secret",
        RESTORA_DATA_DIR=str(tmp_path / "data"),
        RESTORA_PUBLIC_POW_BITS="4",
        RESTORA_PUBLIC_RATE="100",
    )
    err = (tmp_path / "stderr.log").open("w")
    proc = subprocess.Popen(
        [*RESTORA, "serve", "--workers", "2", "--port", str(port), "--db", db_url],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "stderr.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "not ready after 90 s"
            time.sleep(0.3)
        with httpx.Client(base_url=base, timeout=10) as c:
            assert c.get("/readyz").json()["checks"]["store"] == "ok"
            # challenges signed by one worker are accepted by the other: one key for both
            receipts = []
            for i in range(6):
                ch = c.get("/api/v1/public/complaints/challenge").json()["challenge"]
                r = c.post(
                    "/api/v1/public/complaints",
                    data={"text": f"complaint {i}", "challenge": ch, "nonce": antispam.solve(ch)},
                    headers={"X-Request-ID": f"serve-test-{i:04d}"},
                )
                assert r.status_code == 201, r.text
                receipts.append(r.json()["receipt"])
            for rec in receipts:
                assert c.get(f"/api/v1/public/complaints/{rec}").json()["receipt"] == rec
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        err.close()
    lines = [
        json.loads(x)
        for x in (tmp_path / "stderr.log").read_text().splitlines()
        if x.startswith("{")
    ]
    access = [x for x in lines if x.get("logger") == "restora.service.access"]
    ids = {x["request_id"] for x in access}
    assert {f"serve-test-{i:04d}" for i in range(6)} <= ids
    assert all(x["client"] == "127.0.0.1" for x in access)


def test_serve_with_two_workers_on_sqlite(demo_db, tmp_path):
    db = tmp_path / "demo.db"
    shutil.copyfile(demo_db, db)
    _serve_and_check(f"sqlite:///{db}", tmp_path)


@pytest.mark.postgres
@pytest.mark.slow
def test_serve_with_two_workers_on_postgresql(pg_schema_url, tmp_path):
    from restora.appraisal.io import read_county
    from restora.store import Store

    demo = ROOT / "examples" / "demo-county"
    county = read_county(
        [demo / f for f in ("register.gpkg", "soil_samples.csv", "hazards.csv")],
        demo / "context.gpkg",
    )
    with Store(pg_schema_url) as store:
        store.add_register(county.register, source={"files": county.inputs})
    _serve_and_check(pg_schema_url, tmp_path)
