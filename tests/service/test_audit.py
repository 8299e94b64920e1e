"""The audit trail (issue 13 item 4): every write through the API records who, when, from which
request and the record before and after, in the change's own transaction; the trail is
append-only (no route writes it, the database refuses UPDATE and DELETE, on SQLite and
PostgreSQL, also after revision 0006 rebuilt the table); admins and evaluators query and export
it (CSV escaped against formula injection, JSON).

The API tests run on the demo county (tests/service/conftest.py); accounts are made here and
call with bearer tokens, as scripts do.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from restora.service import credentials
from restora.service.changes import declared_action
from restora.store import Store, accounts
from restora.store import audit as store_audit
from restora.store.audit import Change
from restora.store.platform_tables import users
from restora.store.tables import audit, changes, mines

PASSWORD = "correct horse battery staple"
COUNTY = "430599"  # examples/demo-county/README.md: 青山县, code 430599


def bearer(app: Any, username: str, role: str, region: str | None = None) -> dict[str, str]:
    """Headers of a new account's API token (the account made as `restora users create` does)."""
    engine = app.state.store.engine
    account = accounts.account(engine, username=username) or credentials.new_account(
        engine, username=username, role=role, password=PASSWORD, region_code=region,
        change=Change("test"),
    )  # fmt: skip
    token, sha = credentials.new_token(credentials.TOKEN_PREFIX)
    accounts.create_token(
        engine, account.id, name="test", token_sha256=sha, expires_at=None, change=Change("test")
    )
    return {"Authorization": f"Bearer {token}"}


def trail(app: Any, request_id: str) -> list[Any]:
    with app.state.store.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(changes, audit.c.table_name, audit.c.record_id, audit.c.action)
                .add_columns(audit.c.mine_id, audit.c.before, audit.c.after)
                .join(audit, audit.c.change_id == changes.c.id)
                .where(changes.c.request_id == request_id)
                .order_by(audit.c.id)
            ).all()
        )


def test_an_api_write_records_who_when_which_request_and_before_after(app, client):
    admin = bearer(app, "audit-admin", "admin")
    nr = bearer(app, "audit-nr", "natural_resources", COUNTY)
    mine = client.get("/api/v1/mines", params={"limit": 1}, headers=admin).json()["items"][0]
    r = client.patch(
        f"/api/v1/mines/{mine['mine_id']}",
        json={"status": "abandoned" if mine["status"] != "abandoned" else "closed"},
        headers={**nr, "X-Request-ID": "audit-test-patch-1"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == "audit-test-patch-1"
    (row,) = trail(app, "audit-test-patch-1")
    user_id = accounts.account(app.state.store.engine, username="audit-nr").id
    assert (row.user_name, row.user_id) == ("audit-nr", user_id)
    assert row.command == "PATCH /api/v1/mines/{mine_id}"
    assert row.options["action"] == "register.write" and row.options["via"] == "token"
    assert (row.table_name, row.record_id, row.mine_id, row.action) == (
        "mines", mine["mine_id"], mine["mine_id"], "update",
    )  # fmt: skip
    assert row.before == {"status": mine["status"]}
    assert row.after == {"status": r.json()["status"]}
    # an account made through the API: the record after, without its password hash
    r = client.post(
        "/api/v1/users",
        json={"username": "made-by-api", "role": "evaluator", "password": PASSWORD},
        headers={**admin, "X-Request-ID": "audit-test-user-1"},
    )
    assert r.status_code == 201
    (row,) = trail(app, "audit-test-user-1")
    assert (row.table_name, row.action, row.mine_id, row.before) == ("users", "insert", None, None)
    assert row.after["username"] == "made-by-api" and "password_hash" not in row.after
    assert row.user_name == "audit-admin" and row.command == "POST /api/v1/users"


def test_a_refused_or_failed_write_leaves_neither_record_nor_trail(app, client, monkeypatch):
    admin = bearer(app, "audit-admin", "admin")

    def count(table: sa.Table) -> int:
        with app.state.store.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    before = (count(users), count(changes), count(audit))
    r = client.post(
        "/api/v1/users",
        json={"username": "orphan", "role": "evaluator", "password": PASSWORD, "org_id": 99999},
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "org_id"
    assert (count(users), count(changes), count(audit)) == before
    # the trail is written in the record's transaction: if writing it fails, so does the record

    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("the audit trail could not be written")

    monkeypatch.setattr(accounts, "log_change", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post(
            "/api/v1/users",
            json={"username": "untraced", "role": "evaluator", "password": PASSWORD},
            headers=admin,
        )
    assert r.status_code == 500
    assert (count(users), count(changes), count(audit)) == before
    assert accounts.account(app.state.store.engine, username="untraced") is None


def test_admins_and_evaluators_query_the_trail_by_mine_user_table_and_time(app, client):
    admin = bearer(app, "audit-admin", "admin")
    evaluator = bearer(app, "audit-evaluator", "evaluator", COUNTY)
    elsewhere = bearer(app, "audit-evaluator-elsewhere", "evaluator", "999900")
    ids = [m["mine_id"] for m in client.get("/api/v1/mines", headers=admin).json()["items"][:2]]
    for i, mine_id in enumerate(ids):
        r = client.patch(
            f"/api/v1/mines/{mine_id}",
            json={"responsible_party": f"公司 {i}"},
            headers={**admin, "X-Request-ID": f"audit-query-{i}"},
        )
        assert r.status_code == 200, r.text
    first = client.get("/api/v1/audit", params={"request_id": "audit-query-0"}, headers=admin)
    (entry,) = first.json()["items"]
    assert entry["mine_id"] == ids[0] and entry["after"] == {"responsible_party": "公司 0"}
    by_mine = client.get("/api/v1/audit", params={"mine_id": ids[1], "limit": 500}, headers=admin)
    assert by_mine.status_code == 200
    assert {e["mine_id"] for e in by_mine.json()["items"]} == {ids[1]}
    me = accounts.account(app.state.store.engine, username="audit-admin")
    mine_only = client.get(
        "/api/v1/audit", params={"user_id": me.id, "table": "mines", "limit": 500}, headers=admin
    ).json()
    assert mine_only["total"] >= 2
    assert all(e["user_id"] == me.id and e["table"] == "mines" for e in mine_only["items"])
    # time: nothing before the register was imported, everything up to now
    at = entry["at"]
    assert client.get("/api/v1/audit", params={"until": at}, headers=admin).json()["items"] != []
    later = client.get(
        "/api/v1/audit", params={"since": at, "table": "mines", "limit": 500}, headers=admin
    ).json()["items"]
    assert {e["mine_id"] for e in later} >= set(ids)
    assert all(e["at"] >= at for e in later)
    # newest first, paged
    page = client.get("/api/v1/audit", params={"limit": 3}, headers=admin).json()
    assert len(page["items"]) == 3 and page["total"] > 3
    assert [e["id"] for e in page["items"]] == sorted(
        (e["id"] for e in page["items"]), reverse=True
    )
    # an evaluator of the county sees the county's mines; one of another region sees none of them
    assert (
        client.get("/api/v1/audit", params={"mine_id": ids[0]}, headers=evaluator).json()["total"]
        >= 1
    )
    other = client.get("/api/v1/audit", params={"limit": 500}, headers=elsewhere).json()
    assert other["total"] == 0
    # the others may not read it
    assert (
        client.get("/api/v1/audit", headers=bearer(app, "audit-bank", "finance")).status_code == 403
    )
    assert client.get("/api/v1/audit").status_code == 401


def test_the_export_escapes_formulas_and_matches_the_json(app, client):
    admin = bearer(app, "audit-admin", "admin")
    r = client.post(
        "/api/v1/organisations",
        json={"name": '=HYPERLINK("http://evil.example","x")', "kind": "other"},
        headers={**admin, "X-Request-ID": "audit-export-1"},
    )
    assert r.status_code == 201, r.text
    params = {"request_id": "audit-export-1"}
    as_csv = client.get("/api/v1/audit/export", params=params, headers=admin)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    (row,) = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert row["table"] == "organisations" and row["action"] == "insert"
    assert json.loads(row["after"])["name"] == '=HYPERLINK("http://evil.example","x")'
    # a cell that starts like a formula: the JSON of the record starts with "{"; the command
    # and user never do here, so put the formula where a spreadsheet would run it
    r = client.post(
        "/api/v1/users",
        json={"username": "audit-formula", "role": "evaluator", "password": PASSWORD},
        headers={**admin, "X-Request-ID": "=1+2-formula"},
    )
    # a request id that is not a sane one is replaced (restora.service.middleware)
    assert r.headers["x-request-id"] != "=1+2-formula"
    engine = app.state.store.engine
    store_audit_change = Change("=cmd", user="@attacker", request_id="-1")
    with engine.begin() as conn:
        store_audit.log_change(
            conn, store_audit_change, table="users", record_id="1", action="update",
            before={"x": 1}, after={"x": 2},
        )  # fmt: skip
    text = client.get("/api/v1/audit/export", params={"user": "@attacker"}, headers=admin).text
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert (row["user"], row["command"], row["request_id"]) == ("'@attacker", "'=cmd", "'-1")
    as_json = client.get(
        "/api/v1/audit/export", params={"format": "json", "user": "@attacker"}, headers=admin
    )
    assert as_json.headers["content-type"].startswith("application/json")
    (entry,) = as_json.json()
    assert (entry["user"], entry["command"], entry["request_id"]) == ("@attacker", "=cmd", "-1")
    assert entry["before"] == {"x": 1} and entry["after"] == {"x": 2}
    everything = client.get("/api/v1/audit/export", params={"format": "json"}, headers=admin)
    listed = client.get("/api/v1/audit", params={"limit": 500}, headers=admin).json()
    assert len(everything.json()) == listed["total"]


def test_no_route_changes_or_deletes_the_trail(app):
    """Every route that names the audit trail reads it: GET only, action audit.read."""
    from fastapi.routing import iter_route_contexts

    audit_routes = [ctx for ctx in iter_route_contexts(app.routes) if "audit" in (ctx.path or "")]
    api = [ctx for ctx in audit_routes if ctx.path.startswith("/api/")]
    assert {ctx.path for ctx in api} == {"/api/v1/audit", "/api/v1/audit/export"}
    for ctx in audit_routes:
        assert set(ctx.methods) <= {"GET", "HEAD"}, ctx.path
    for ctx in api:
        assert declared_action(ctx) == "audit.read"


# ------------------------------------------------------------------ the database refuses it
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'trail.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


def _trigger_count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"
        else:
            sql = (
                "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = :t AND n.nspname = current_schema() AND NOT t.tgisinternal"
            )
        return int(conn.execute(sa.text(sql), {"t": table}).scalar_one())


def _refused(engine: sa.Engine) -> None:
    statements = [
        "UPDATE changes SET user_name = 'someone else'",
        "DELETE FROM changes",
        "UPDATE audit SET after = NULL",
        "DELETE FROM audit",
    ]
    if engine.dialect.name == "postgresql":
        statements += ["TRUNCATE audit", "TRUNCATE changes CASCADE"]
    for sql in statements:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(sql))


def test_the_trail_stays_append_only_after_revision_0006(empty_store_url):
    """0006 rebuilt ``audit`` on SQLite (audit.mine_id nullable): its triggers are made again,
    once, and refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) of both tables, also after
    head → 0005 → head; a downgrade below 0006 is refused while the trail holds a record of no
    mine (0005 has no place for it)."""
    with Store(empty_store_url) as store:
        engine = store.engine
        expected = 2  # SQLite: an UPDATE and a DELETE trigger; PostgreSQL: row and TRUNCATE
        assert (_trigger_count(engine, "audit"), _trigger_count(engine, "changes")) == (
            expected, expected,
        )  # fmt: skip
        with engine.begin() as conn:
            conn.execute(
                mines.insert().values(
                    mine_id="M1", name="m", region_code=COUNTY, mineral="coal", status="closed"
                )
            )
            store_audit.log_change(
                conn, Change("test"), table="mines", record_id="M1", action="insert",
                after={"mine_id": "M1"}, mine_id="M1",
            )  # fmt: skip
        _refused(engine)
        store.downgrade("0005")
        assert (_trigger_count(engine, "audit"), _trigger_count(engine, "changes")) == (2, 2)
        _refused(engine)
        store.upgrade()
        assert (_trigger_count(engine, "audit"), _trigger_count(engine, "changes")) == (2, 2)
        _refused(engine)
        with engine.begin() as conn:
            store_audit.log_change(
                conn, Change("test"), table="users", record_id="1", action="insert",
                after={"username": "x"},
            )  # fmt: skip
        with pytest.raises(RuntimeError, match="cannot downgrade below 0006"):
            store.downgrade("0005")
        assert store.revision() == store_audit_head()
        _refused(engine)
        with engine.connect() as conn:
            n = conn.execute(sa.select(sa.func.count()).select_from(audit)).scalar_one()
        assert n == 2


def store_audit_head() -> tuple[str, ...]:
    from restora.store import migrate

    return migrate.head_revisions()


def test_the_trail_is_queried_and_exported_alike_on_each_database(empty_store_url, tmp_path):
    """The same writes, the same trail, on SQLite and PostgreSQL (time filters on timestamps
    with a zone, JSON columns, paging, CSV and JSON export)."""
    from restora.service.app import create_app
    from restora.service.settings import Settings

    app = create_app(
        Settings(database_url=empty_store_url, secret_key="k", data_dir=tmp_path / "data")
    )
    try:
        admin = bearer(app, "root", "admin")
        with TestClient(app) as client:
            for i in range(3):
                r = client.post(
                    "/api/v1/organisations",
                    json={"name": f"村委会 {i}", "kind": "village_collective"},
                    headers={**admin, "X-Request-ID": f"db-trail-{i}"},
                )
                assert r.status_code == 201, r.text
            everything = client.get("/api/v1/audit", params={"limit": 500}, headers=admin).json()
            orgs = client.get(
                "/api/v1/audit", params={"table": "organisations", "limit": 2}, headers=admin
            ).json()
            assert orgs["total"] == 3 and len(orgs["items"]) == 2
            assert [e["after"]["name"] for e in orgs["items"]] == ["村委会 2", "村委会 1"]
            middle = orgs["items"][1]
            assert middle["request_id"] == "db-trail-1" and middle["mine_id"] is None
            since = client.get(
                "/api/v1/audit",
                params={"since": middle["at"], "table": "organisations"},
                headers=admin,
            ).json()
            assert [e["request_id"] for e in since["items"]] == ["db-trail-2", "db-trail-1"]
            until = client.get(
                "/api/v1/audit",
                params={"until": middle["at"], "table": "organisations"},
                headers=admin,
            ).json()
            assert [e["request_id"] for e in until["items"]] == ["db-trail-0"]
            exported = client.get(
                "/api/v1/audit/export", params={"format": "json"}, headers=admin
            ).json()
            assert [e["id"] for e in exported] == sorted(e["id"] for e in everything["items"])
            table = list(
                csv.DictReader(io.StringIO(client.get("/api/v1/audit/export", headers=admin).text))
            )
            assert [int(r["id"]) for r in table] == [e["id"] for e in exported]
            assert json.loads(table[-1]["after"])["name"] == "村委会 2"
    finally:
        app.state.store.close()
