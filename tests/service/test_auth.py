"""Accounts and authentication (issue 13 item 3): sign-in and out, the session cookie, CSRF,
bearer tokens, throttled failed sign-ins, no user enumeration, argon2 hashes and their rehash.

Each test runs on SQLite and on PostgreSQL (a fresh schema), on an app over an empty store:
accounts are made the way ``restora users create`` makes them
(:func:`restora.service.credentials.new_account`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from restora import refdata
from restora.service import credentials
from restora.store import accounts
from restora.store.audit import Change
from restora.store.platform_tables import api_tokens, sessions, sign_in_failures, users
from restora.store.tables import audit, changes

PASSWORD = "correct horse battery staple"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url_any(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'auth.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


def make_app(url: str, data_dir: Path, *, behind_tls: bool = False) -> Any:
    from restora.service.app import create_app
    from restora.service.settings import Settings

    settings = Settings(
        database_url=url,
        secret_key="test-secret-key",
        secret_key_from_env=True,
        data_dir=data_dir,
        behind_tls=behind_tls,
    )
    return create_app(settings)


@pytest.fixture
def app(store_url_any: str, tmp_path: Path) -> Iterator[Any]:
    app = make_app(store_url_any, tmp_path / "data")
    yield app
    app.state.store.close()


def add_user(app: Any, username: str, role: str = "admin", **kw: Any) -> accounts.Account:
    return credentials.new_account(
        app.state.store.engine,
        username=username,
        role=role,
        password=kw.pop("password", PASSWORD),
        change=Change("test"),
        **kw,
    )


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/auth/session", json={"username": username, "password": password})


def rows(app: Any, query: Any) -> list[Any]:
    with app.state.store.engine.connect() as conn:
        return list(conn.execute(query).all())


def test_sign_in_sets_a_protected_cookie_and_sign_out_revokes_it(app):
    add_user(app, "root")
    hours = refdata.get("security/sign-in").data["session_hours"]
    with TestClient(app) as client:
        assert client.get("/auth/session").json() == {"signed_in": False, "role": "public"}
        r = sign_in(client, "root")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["signed_in"] and body["role"] == "admin" and body["username"] == "root"
        assert body["via"] == "session" and len(body["csrf_token"]) == 64
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("restora_session=")
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "path=/", "samesite=lax", f"max-age={hours * 3600}"} <= flags
        assert "secure" not in flags  # not behind TLS
        token = client.cookies["restora_session"]
        # only the token's SHA-256 is stored
        (stored,) = rows(app, sa.select(sessions.c.token_sha256, sessions.c.csrf_secret))
        assert stored.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
        assert token not in (stored.token_sha256, stored.csrf_secret)
        assert client.get("/api/v1/users/me").json()["username"] == "root"
        assert client.get("/auth/session").json()["csrf_token"] == body["csrf_token"]
        # signing out needs the CSRF token, then revokes the session
        assert client.delete("/auth/session").status_code == 403
        r = client.delete("/auth/session", headers={"X-CSRF-Token": body["csrf_token"]})
        assert r.status_code == 204 and "restora_session=" in r.headers["set-cookie"]
        # the old cookie, sent again, is nobody's
        client.cookies.set("restora_session", token)
        assert client.get("/auth/session").json()["signed_in"] is False
        assert client.get("/api/v1/users/me").status_code == 401
    (revoked,) = rows(app, sa.select(sessions.c.revoked_at))
    assert revoked.revoked_at is not None


def test_behind_tls_the_cookie_is_secure_and_host_prefixed(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'tls.db'}", tmp_path / "data", behind_tls=True)
    add_user(app, "root")
    with TestClient(app, base_url="https://testserver") as client:
        r = sign_in(client, "root")
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("__Host-restora_session=")
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly", "path=/", "samesite=lax"} <= flags
        assert not any(f.startswith("domain=") for f in flags)  # __Host-: host-only
        assert client.get("/api/v1/users/me").status_code == 200
        assert r.headers["strict-transport-security"].startswith("max-age=")
    app.state.store.close()


def test_writes_on_a_session_need_its_csrf_token(app):
    add_user(app, "root")
    add_user(app, "other", "evaluator")
    with TestClient(app) as client, TestClient(app) as second:
        token = sign_in(client, "root").json()["csrf_token"]
        other_token = sign_in(second, "other").json()["csrf_token"]
        new = {"name": "script"}
        for headers in ({}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": other_token}):
            r = client.post("/api/v1/users/me/tokens", json=new, headers=headers)
            assert r.status_code == 403 and r.json()["type"] == "/problems/csrf"
        r = client.post("/api/v1/users/me/tokens", json=new, headers={"X-CSRF-Token": token})
        assert r.status_code == 201
        bearer = r.json()["token"]
        # a script with a bearer token needs no CSRF token (a browser never sends the header)
        with TestClient(app) as script:
            r = script.post(
                "/api/v1/users/me/tokens",
                json={"name": "second"},
                headers={"Authorization": f"Bearer {bearer}"},
            )
            assert r.status_code == 201
        # a plain form carries the token as a field
        r = client.post("/auth/sign-out", data={"csrf_token": "wrong", "next": "/map"})
        assert r.status_code == 403
        r = client.post(
            "/auth/sign-out", data={"csrf_token": token, "next": "/map"}, follow_redirects=False
        )
        assert r.status_code == 303 and r.headers["location"] == "/map"
        assert client.get("/auth/session").json()["signed_in"] is False


def test_bearer_tokens_are_stored_hashed_and_refused_once_revoked_or_expired(app):
    root = add_user(app, "root")
    engine = app.state.store.engine
    with TestClient(app) as client:
        csrf = sign_in(client, "root").json()["csrf_token"]
        made = client.post(
            "/api/v1/users/me/tokens", json={"name": "nightly"}, headers={"X-CSRF-Token": csrf}
        ).json()
    token = made["token"]
    assert token.startswith(credentials.TOKEN_PREFIX) and len(token) >= 40
    (stored,) = rows(app, sa.select(api_tokens.c.token_sha256))
    assert stored.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    with TestClient(app) as script:

        def me(value: str) -> Any:
            return script.get("/api/v1/users/me", headers={"Authorization": value})

        assert me(f"Bearer {token}").status_code == 200
        assert (
            script.get("/auth/session", headers={"Authorization": f"Bearer {token}"}).json()["via"]
            == "token"
        )
        for bad in ("Bearer nope", f"Basic {token}", "Bearer "):
            r = me(bad)
            assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        # an expired token
        old, old_sha = credentials.new_token(credentials.TOKEN_PREFIX)
        accounts.create_token(
            engine,
            root.id,
            name="old",
            token_sha256=old_sha,
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
            change=Change("test"),
        )
        assert me(f"Bearer {old}").status_code == 401
        # revoked
        assert accounts.revoke_token(engine, root.id, made["id"], change=Change("test"))
        assert me(f"Bearer {token}").status_code == 401
    # the list never shows a token's value
    with TestClient(app) as client:
        client.post("/auth/session", json={"username": "root", "password": PASSWORD})
        listed = client.get("/api/v1/users/me/tokens").json()
    assert {t["name"] for t in listed} == {"nightly", "old"}
    assert all("token" not in t and "token_sha256" not in t for t in listed)


def test_deactivating_an_account_ends_its_sessions_and_tokens(app):
    add_user(app, "root")
    nr = add_user(app, "nr", "natural_resources", region_code="430599")
    with TestClient(app) as admin, TestClient(app) as user:
        csrf = sign_in(admin, "root").json()["csrf_token"]
        user_csrf = sign_in(user, "nr").json()["csrf_token"]
        bearer = user.post(
            "/api/v1/users/me/tokens", json={"name": "x"}, headers={"X-CSRF-Token": user_csrf}
        ).json()["token"]
        r = admin.patch(
            f"/api/v1/users/{nr.id}", json={"active": False}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 200 and r.json()["active"] is False
        assert user.get("/api/v1/users/me").status_code == 401  # the session is gone
        r = user.get("/api/v1/users/me", headers={"Authorization": f"Bearer {bearer}"})
        assert r.status_code == 401
        assert sign_in(user, "nr").status_code == 401  # and it cannot sign in again
        # an admin cannot lock themselves out
        me = admin.get("/api/v1/users/me").json()["id"]
        r = admin.patch(
            f"/api/v1/users/{me}", json={"role": "evaluator"}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 409


def test_failed_sign_ins_are_throttled_per_username_and_address(app):
    add_user(app, "root")
    add_user(app, "other")
    limits = refdata.get("security/sign-in").data
    with TestClient(app, client=("203.0.113.7", 5000)) as client:
        for _ in range(limits["failures"]):
            assert sign_in(client, "root", "wrong password, long enough").status_code == 401
        r = sign_in(client, "root")  # the right password no longer helps from here
        assert r.status_code == 429
        assert r.headers["retry-after"] == str(limits["window_minutes"] * 60)
        assert sign_in(client, "other").status_code == 200  # another username: not limited
    with TestClient(app, client=("198.51.100.9", 5000)) as elsewhere:
        assert sign_in(elsewhere, "root").status_code == 200  # another address: not limited
    # what is kept names neither the username nor the address
    kept = rows(app, sa.select(sign_in_failures.c.key_sha256))
    assert len(kept) == limits["failures"]
    assert all("root" not in k.key_sha256 and "203.0" not in k.key_sha256 for k in kept)
    # a success clears the count
    with TestClient(app, client=("192.0.2.1", 5000)) as client:
        for _ in range(limits["failures"] - 1):
            sign_in(client, "other", "wrong password, long enough")
        assert sign_in(client, "other").status_code == 200
        for _ in range(limits["failures"] - 1):
            assert sign_in(client, "other", "wrong password, long enough").status_code == 401
        assert sign_in(client, "other").status_code == 200


def test_sign_in_failures_say_nothing_of_which_was_wrong(app, monkeypatch):
    """Unknown user, wrong password, deactivated account: the same answer, and each checks one
    argon2 hash (an unknown user against a dummy one), so they take as long."""
    add_user(app, "root")
    gone = add_user(app, "gone", "evaluator")
    accounts.update_account(app.state.store.engine, gone.id, {"active": False}, change=Change("t"))
    calls: list[str] = []
    real_verify = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: Any, password: Any) -> Any:
        calls.append(str(hash)[:9])
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    answers = []
    with TestClient(app) as client:
        for username, password in (
            ("nobody", PASSWORD),
            ("root", "not the password of root"),
            ("gone", PASSWORD),
        ):
            before = len(calls)
            r = sign_in(client, username, password)
            assert len(calls) == before + 1, username
            body = r.json()
            answers.append((r.status_code, body["type"], body["detail"]))
    assert set(answers) == {(401, "/problems/sign-in-failed", "wrong username or password")}
    assert all(c.startswith("$argon2id") for c in calls)


def test_passwords_are_argon2id_never_shown_and_rehashed_when_parameters_change(app):
    engine = app.state.store.engine
    add_user(app, "root")
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    legacy = accounts.create_account(
        engine,
        username="legacy",
        display_name="legacy",
        password_hash=weak,
        role="evaluator",
        change=Change("test"),
    )
    (stored,) = rows(app, sa.select(users.c.password_hash).where(users.c.username == "root"))
    assert stored.password_hash.startswith("$argon2id$")
    assert not credentials.hasher().check_needs_rehash(stored.password_hash)
    audited_before = rows(app, sa.select(sa.func.count()).select_from(audit))[0][0]
    with TestClient(app) as client:
        assert sign_in(client, "legacy").status_code == 200
    (rehashed,) = rows(app, sa.select(users.c.password_hash).where(users.c.id == legacy.id))
    assert rehashed.password_hash != weak
    assert not credentials.hasher().check_needs_rehash(rehashed.password_hash)
    assert credentials.verify_password(rehashed.password_hash, PASSWORD)[0]
    # the same password rehashed is not a change of the record
    assert rows(app, sa.select(sa.func.count()).select_from(audit))[0][0] == audited_before
    # no hash in any answer, nor in the audit trail
    with TestClient(app) as client:
        csrf = sign_in(client, "root").json()["csrf_token"]
        listed = client.get("/api/v1/users").text
        trail = client.get("/api/v1/audit/export", params={"format": "json"}).text
        r = client.post(
            "/api/v1/users",
            json={"username": "short", "role": "evaluator", "password": "too short"},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "password"
    assert "$argon2" not in listed and "password_hash" not in listed
    assert "$argon2" not in trail and "password_hash" not in trail


def test_changing_ones_password_checks_the_current_one_and_is_audited(app):
    add_user(app, "nr", "natural_resources")
    new = "a new passphrase of some length"
    with TestClient(app) as client:
        csrf = sign_in(client, "nr").json()["csrf_token"]
        r = client.put(
            "/api/v1/users/me/password",
            json={"current_password": "wrong wrong wrong", "new_password": new},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "current_password"
        r = client.put(
            "/api/v1/users/me/password",
            json={"current_password": PASSWORD, "new_password": new},
            headers={"X-CSRF-Token": csrf, "X-Request-ID": "change-password-1"},
        )
        assert r.status_code == 204
    with TestClient(app) as client:
        assert sign_in(client, "nr").status_code == 401
        assert sign_in(client, "nr", new).status_code == 200
    (row,) = rows(
        app,
        sa.select(changes.c.user_name, changes.c.command, audit.c.after)
        .join(audit, audit.c.change_id == changes.c.id)
        .where(changes.c.request_id == "change-password-1"),
    )
    assert row.user_name == "nr" and row.command == "PUT /api/v1/users/me/password"
    assert row.after == {"password": "changed"}


def test_sign_in_redirects_only_to_local_paths_and_refuses_other_origins(app):
    add_user(app, "root")
    form = {"username": "root", "password": PASSWORD}
    with TestClient(app) as client:
        r = client.post("/auth/session", data={**form, "next": "/map"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/map"
        assert "restora_session=" in r.headers["set-cookie"]
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            r = client.post("/auth/session", data={**form, "next": target}, follow_redirects=False)
            assert r.status_code == 200 and r.json()["signed_in"], target
        r = client.post("/auth/session", json=form, headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and r.json()["type"] == "/problems/cross-origin"
        r = client.post("/auth/session", json=form, headers={"Origin": "http://testserver"})
        assert r.status_code == 200
        # behind a reverse proxy that rewrites Host, the forwarded host is the site's
        behind = {"Origin": "https://restora.example", "Host": "127.0.0.1:8000"}
        r = client.post("/auth/session", json=form, headers=behind)
        assert r.status_code == 403
        r = client.post(
            "/auth/session", json=form, headers={**behind, "X-Forwarded-Host": "restora.example"}
        )
        assert r.status_code == 200
        # signing in again replaces the browser's session (no CSRF token needed for that)
        assert len(rows(app, sa.select(sessions.c.id).where(sessions.c.revoked_at.is_(None)))) == 1
        for bad in ({"username": "root"}, [1, 2], "x"):
            r = client.post("/auth/session", json=bad)
            assert r.status_code == 422, bad
        r = client.post(
            "/auth/session", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 400
