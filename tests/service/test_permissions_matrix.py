"""The route × role matrix (issue 13, "Done when"): every route of the app, called as every role,
answers as the one permission matrix (restora.service.permissions) says — and never 5xx.

The walk introspects the app's routes (``fastapi.routing.iter_route_contexts``: routers
included now or later are found without a change here), reads each route's action from the
dependency that carries ``restora_action`` (:func:`restora.service.security.authorize`, or
:func:`restora.service.permissions.page_action` for a web page) and calls it:

- as each signed-in role (an account per role with the demo county as region scope, calling
  with a bearer token) and as the public (no credentials);
- with valid path parameters where the demo county has them (its first mine, that mine's site,
  sample and hazard, a published project of the demo projects owned by the enterprise, the
  admin's account, an organisation), else the first value the OpenAPI document allows (an
  enumeration's first value, ``1`` for a number); the required query parameters likewise;
- with the body example of the route's schema when it has one, else ``{}``.

Then: allowed → 2xx, 3xx or a 4xx about the input or the record (never 401, 403); denied → 403
when signed in, 401 when anonymous (a web page: 403, or 303 to the sign-in page); an allowed
role whose region scope is another city (``999900``) gets 404 (or 403 on a write) from a route
of one record that is not public information; nothing answers 5xx; every write that
succeeded left a change in the audit trail with its request id and account.

Reads are walked before writes, and deletions last, so that a write does not hide the records
the other calls need (a later call may still meet a record an earlier one deleted: a 404 is a
4xx about the record).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from restora.service import credentials
from restora.service.changes import declared_action
from restora.service.permissions import ACTIONS, ROLES, allowed, check_matrix
from restora.store import accounts
from restora.store.audit import Change
from restora.store.tables import changes
from restora.store.tables import hazards as HAZARDS
from restora.store.tables import mines as MINES
from restora.store.tables import samples as SAMPLES
from restora.store.tables import sites as SITES

ROOT = Path(__file__).resolve().parents[2]
COUNTY = "430599"  # examples/demo-county/README.md: 青山县, code 430599
ELSEWHERE = "999900"  # a city no real code uses: out of every demo record's scope
PASSWORD = "correct horse battery staple"
#: Routes that are not the platform's records: the process, the API description, assets.
EXEMPT = {"/healthz", "/readyz", "/api/v1/openapi.json"}
EXEMPT_PREFIXES = ("/api/v1/docs", "/static")
#: Path parameters that name a record with a region (an out-of-scope account may not see it).
REGIONAL = {"mine_id", "site_id", "sample_id", "hazard_id", "project_id"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Route:
    path: str
    method: str
    action: str | None
    page: bool
    context: Any = field(repr=False)

    @property
    def api(self) -> bool:
        return self.path.startswith(("/api/", "/auth/"))


def app_routes(app: Any) -> list[Route]:
    """Every (path, method) of the app, with its declared action (None if it declares none)."""
    out = []
    for ctx in iter_route_contexts(app.routes):
        path = ctx.path or ""
        if path in EXEMPT or path.startswith(EXEMPT_PREFIXES) or not ctx.methods:
            continue
        action = declared_action(ctx)
        page = _is_page(ctx)
        for method in sorted(set(ctx.methods) - {"HEAD"}):
            out.append(Route(path, method, action, page, ctx))
    return out


def _is_page(ctx: Any) -> bool:
    stack = list(getattr(getattr(ctx, "dependant", None), "dependencies", ()))
    while stack:
        dep = stack.pop()
        if getattr(dep.call, "restora_page", False):
            return True
        stack.extend(dep.dependencies)
    return False


@dataclass
class Caller:
    role: str
    headers: dict[str, str]
    user_id: int | None
    out_of_scope: bool = False


@dataclass
class Call:
    route: Route
    caller: Caller
    url: str
    status: int
    location: str | None
    request_id: str
    detail: str
    changed: bool = False


def _token(engine: Any, account: accounts.Account) -> dict[str, str]:
    token, sha = credentials.new_token(credentials.TOKEN_PREFIX)
    accounts.create_token(
        engine, account.id, name="matrix", token_sha256=sha, expires_at=None, change=Change("t")
    )
    return {"Authorization": f"Bearer {token}"}


def _callers(engine: Any) -> tuple[list[Caller], list[Caller], dict[str, Any]]:
    firm = accounts.create_organisation(
        engine, "青山修复有限公司", "enterprise", change=Change("t")
    )
    orgs = {
        "enterprise": firm["id"],
        "finance": accounts.create_organisation(engine, "示范银行", "bank", change=Change("t"))[
            "id"
        ],
        "village": accounts.create_organisation(
            engine, "黄泥塘村股份经济合作社", "village_collective", COUNTY, change=Change("t")
        )["id"],
    }
    callers, outside = [], []
    for role in ROLES:
        if role == "public":
            callers.append(Caller("public", {}, None))
            continue
        account = credentials.new_account(
            engine,
            username=f"matrix-{role}",
            role=role,
            password=PASSWORD,
            org_id=orgs.get(role),
            region_code=None if role == "admin" else COUNTY,
            change=Change("t"),
        )
        callers.append(Caller(role, _token(engine, account), account.id))
        if role != "admin":
            away = credentials.new_account(
                engine,
                username=f"matrix-{role}-elsewhere",
                role=role,
                password=PASSWORD,
                region_code=ELSEWHERE,
                change=Change("t"),
            )
            outside.append(Caller(role, _token(engine, away), away.id, out_of_scope=True))
    return callers, outside, {"firm": firm["id"]}


def _ids(app: Any, callers: list[Caller], extra: dict[str, Any]) -> dict[str, str]:
    """Valid path parameters from the demo county (and a demo project, when projects exist)."""
    engine = app.state.store.engine
    with engine.connect() as conn:
        mine_id = conn.execute(
            sa.select(MINES.c.mine_id)
            .where(MINES.c.region_code == COUNTY, MINES.c.deleted_at.is_(None))
            .order_by(MINES.c.mine_id)
        ).scalar()

        def first(table: sa.Table, column: str) -> str | None:
            return conn.execute(
                sa.select(table.c[column])
                .where(table.c.mine_id == mine_id)
                .order_by(table.c[column])
            ).scalar()

        ids = {
            "mine_id": mine_id,
            "site_id": first(SITES, "site_id"),
            "sample_id": first(SAMPLES, "sample_id"),
            "hazard_id": first(HAZARDS, "hazard_id"),
        }
    admin = next(c for c in callers if c.role == "admin")
    # a token of the admin's that a call may revoke (never the one the walk calls with)
    spare = accounts.create_token(
        engine, admin.user_id, name="spare", token_sha256="0" * 64, expires_at=None,
        change=Change("t"),
    )  # fmt: skip
    ids |= {
        "user_id": str(admin.user_id),
        "org_id": str(extra["firm"]),
        "token_id": str(spare["id"]),
        "locale": "en",
    }
    try:
        from restora.store import projects
    except ImportError:  # projects not part of this build
        return {k: str(v) for k, v in ids.items() if v is not None}
    spec = yaml.safe_load((ROOT / "examples" / "demo-projects" / "QS-M09.yaml").read_text("utf-8"))
    made = projects.create_project(
        app.state.store, spec, owner_org_id=extra["firm"], published=True, change=Change("t")
    )
    ids["project_id"] = made["project_id"]
    return {k: str(v) for k, v in ids.items() if v is not None}


_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _parameters(openapi: dict[str, Any], route: Route) -> dict[str, dict[str, Any]]:
    op = openapi.get("paths", {}).get(route.path, {}).get(route.method.lower(), {})
    return {f"{p['in']}:{p['name']}": p for p in op.get("parameters", [])}


def _value(schema: dict[str, Any]) -> str:
    """A valid value of a parameter's schema: its first allowed value, example or default."""
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return _value(option)
    if schema.get("enum"):
        return str(schema["enum"][0])
    for key in ("example", "default"):
        if schema.get(key) is not None:
            return str(schema[key]).lower() if isinstance(schema[key], bool) else str(schema[key])
    if schema.get("type") in ("integer", "number"):
        return str(schema.get("minimum", 1))
    if schema.get("type") == "boolean":
        return "false"
    return "matrix test"


def _fill(path: str, ids: dict[str, str], params: dict[str, dict[str, Any]]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in ids:
            return ids[name]
        return _value(params.get(f"path:{name}", {}).get("schema", {})) if params else "1"

    return _PARAM.sub(one, path)


def _required_query(params: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Values of the required query parameters (a deletion's reason …)."""
    return {
        p["name"]: _value(p.get("schema", {}))
        for key, p in params.items()
        if key.startswith("query:") and p.get("required")
    }


def _example(openapi: dict[str, Any], route: Route) -> Any:
    op = openapi.get("paths", {}).get(route.path, {}).get(route.method.lower(), {})
    content = op.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    ref = schema.get("$ref")
    if ref:
        schema = openapi["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    return schema.get("example", {})


#: The service's working state, not records: sign-ins, sessions, when a token or an account was
#: last used; the trail itself; and what background jobs write while the walk goes on (a job's
#: state, the appraisals it stores: tests/service/test_jobs*.py check their trail).
NOT_RECORDS = {
    "sessions", "sign_in_failures", "changes", "audit", "alembic_version", "jobs", "appraisals",
}  # fmt: skip
NOT_RECORD_COLUMNS = {"last_used_at", "last_login_at"}


def _snapshot(engine: Any) -> str:
    """A digest of every record of the store (what a write may change)."""
    from restora.store.tables import metadata

    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in NOT_RECORDS:
                continue
            columns = [c for c in table.columns if c.name not in NOT_RECORD_COLUMNS]
            order = list(table.primary_key.columns) or columns
            for row in conn.execute(sa.select(*columns).order_by(*order)):
                digest.update(repr((table.name, tuple(row))).encode())
    return digest.hexdigest()


def _order(route: Route) -> tuple[int, str]:
    rank = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}.get(route.method, 1)
    return rank, route.path


@pytest.fixture(scope="module")
def walk(app: Any) -> dict[str, Any]:
    engine = app.state.store.engine
    callers, outside, extra = _callers(engine)
    ids = _ids(app, callers, extra)
    routes = app_routes(app)
    openapi = app.openapi()
    client = TestClient(app, raise_server_exceptions=False)  # no lifespan: no job runs
    counter = itertools.count()
    calls: list[Call] = []
    state = _snapshot(engine)
    for route in sorted(routes, key=_order):
        if route.action is None:
            continue
        params = _parameters(openapi, route)
        url = _fill(route.path, ids, params)
        query = _required_query(params)
        denied = [c for c in callers if not allowed(c.role, route.action)]
        permitted = [c for c in callers if allowed(c.role, route.action)]
        names = {m.group(1) for m in _PARAM.finditer(route.path)}
        regional = bool(REGIONAL & names) and not allowed("public", route.action)
        away = [c for c in outside if allowed(c.role, route.action)] if regional else []
        for caller in [*denied, *away, *permitted]:
            rid = f"matrix-{next(counter):06d}"
            kwargs: dict[str, Any] = {
                "headers": {**caller.headers, "X-Request-ID": rid},
                "params": query,
            }
            if route.method in ("POST", "PUT", "PATCH"):
                kwargs["json"] = _example(openapi, route)
            r = client.request(route.method, url, follow_redirects=False, **kwargs)
            after = _snapshot(engine) if route.method in UNSAFE else state
            calls.append(
                Call(
                    route, caller, url, r.status_code, r.headers.get("location"), rid,
                    r.text[:300], changed=after != state,
                )
            )  # fmt: skip
            state = after
    _stop_jobs(app)
    return {"routes": routes, "calls": calls, "ids": ids}


def _stop_jobs(app: Any) -> None:
    """Cancel the appraisals the walk queued (they would run on after the test)."""
    try:
        from restora.service import jobs
    except ImportError:  # no job queue in this build
        return
    page, _ = jobs.list_jobs(app, limit=500)
    for job in page:
        if job.status not in jobs.TERMINAL:
            jobs.cancel(app, job.id)
    jobs.queue_for(app).stop(timeout=30)


def test_the_walk_covers_the_app(walk):
    """The walk met every kind of route the app has (and the demo ids it needs)."""
    paths = {r.path for r in walk["routes"]}
    assert {"/api/v1/mines", "/api/v1/mines/{mine_id}", "/api/v1/audit", "/auth/session"} <= paths
    assert {"mine_id", "site_id", "sample_id", "hazard_id"} <= set(walk["ids"])
    called = {(c.route.path, c.route.method) for c in walk["calls"]}
    declared = {(r.path, r.method) for r in walk["routes"] if r.action is not None}
    assert called == declared
    roles = {c.caller.role for c in walk["calls"]}
    assert roles == set(ROLES)


def test_every_route_declares_an_action_of_the_matrix(walk):
    undeclared = sorted(f"{r.method} {r.path}" for r in walk["routes"] if r.action is None)
    assert not undeclared, "routes without authorize(...) or page_action(...):\n" + "\n".join(
        undeclared
    )
    assert check_matrix(r.action for r in walk["routes"] if r.action) == []
    assert all(r.action in ACTIONS for r in walk["routes"] if r.action)


def test_nothing_answers_5xx(walk):
    errors = [
        f"{c.route.method} {c.url} as {c.caller.role}: {c.status} {c.detail}"
        for c in walk["calls"]
        if c.status >= 500
    ]
    assert not errors, "\n".join(errors)


def _signin_redirect(call: Call) -> bool:
    return call.status in (302, 303, 307) and (call.location or "").startswith("/signin")


def test_allowed_roles_get_through_and_denied_roles_are_refused(walk):
    wrong = []
    for c in walk["calls"]:
        if c.caller.out_of_scope or c.status >= 500:
            continue
        may = allowed(c.caller.role, c.route.action)
        signed_in = c.caller.role != "public"
        if may:
            ok = c.status not in (401, 403) and not (c.route.page and _signin_redirect(c))
        elif signed_in:
            ok = c.status == 403
        elif c.route.page:
            ok = c.status == 401 or _signin_redirect(c)
        else:
            ok = c.status == 401
        if not ok:
            verdict = "allowed" if may else "denied"
            wrong.append(
                f"{c.route.method} {c.route.path} as {c.caller.role} ({verdict} "
                f"{c.route.action}): {c.status} {c.detail}"
            )
    assert not wrong, "\n".join(wrong)


def test_a_record_out_of_the_region_scope_is_not_found(walk):
    """A county bureau (or any scoped role) of another city does not see the county's records:
    404 on reads, 403 or 404 on writes; never 2xx."""
    checked, wrong = 0, []
    for c in walk["calls"]:
        if not c.caller.out_of_scope:
            continue
        checked += 1
        expected = {404} if c.route.method == "GET" else {403, 404}
        if c.status not in expected:
            wrong.append(f"{c.route.method} {c.url} as {c.caller.role} elsewhere: {c.status}")
    assert checked > 0
    assert not wrong, "\n".join(wrong)


def test_every_write_that_changed_a_record_is_in_the_audit_trail(app, walk):
    """Each call that changed a record of the store (any table but the service's working
    state: sessions, failed sign-ins, last use of a token or account) left a change with its
    request id, naming the account that made it."""
    writes = [c for c in walk["calls"] if c.changed]
    assert any(c.route.path == "/api/v1/users" and c.route.method == "POST" for c in writes)
    with app.state.store.engine.connect() as conn:
        logged = {
            row.request_id: row.user_id
            for row in conn.execute(
                sa.select(changes.c.request_id, changes.c.user_id).where(
                    changes.c.request_id.in_([c.request_id for c in writes])
                )
            )
        }
    missing = [
        f"{c.route.method} {c.route.path} as {c.caller.role}: {c.status}"
        for c in writes
        if c.request_id not in logged or logged[c.request_id] != c.caller.user_id
    ]
    assert not missing, "\n".join(missing)


def test_the_matrix_holds_the_roles_of_issue_13():
    """What issue 13 says each role does, against the table (a change of the matrix that
    breaks one of them fails here)."""
    nr, eco, fin, ent, ev, vil, pub = (
        "natural_resources", "ecology_environment", "finance", "enterprise", "evaluator",
        "village", "public",
    )  # fmt: skip
    assert allowed(nr, "register.write") and allowed(nr, "plan.write")
    assert not allowed(eco, "register.write") and allowed(eco, "pollution.write")
    assert allowed(eco, "monitoring.write") and not allowed(nr, "monitoring.write")
    assert allowed(fin, "appraisal.read") and not allowed(fin, "project.write")
    assert not any(allowed(fin, a) for a in ACTIONS if a.endswith((".write", ".import", ".run")))
    assert allowed(ent, "project.write") and allowed(ent, "fund.write")
    assert not allowed(ent, "register.write") and not allowed(ent, "audit.read")
    assert allowed(ev, "audit.read") and allowed(ev, "verification.write")
    evidence = [a for a in ACTIONS if a.startswith(("register.", "project.", "pollution."))]
    assert not any(allowed(ev, a) for a in evidence if not a.endswith(".read"))
    assert allowed(vil, "benefit.read") and not allowed(vil, "appraisal.read")
    assert {a for a in ACTIONS if allowed(pub, a)} == {
        "disclosure.read", "complaint.file", "complaint.track", "session.manage",
        "registry.public",
    }  # fmt: skip
    assert all(allowed("admin", a) for a in ACTIONS)
    assert {r for r in ROLES if allowed(r, "audit.read")} == {"admin", ev}
    assert {r for r in ROLES if allowed(r, "users.manage")} == {"admin"}


def test_the_security_document_shows_the_matrix():
    """docs/platform-security.md holds the table of permissions.py (regenerate it with
    restora.service.permissions.matrix_markdown())."""
    from restora.service.permissions import matrix_markdown

    text = (ROOT / "docs" / "platform-security.md").read_text("utf-8")
    start, end = "<!-- matrix:start -->\n", "<!-- matrix:end -->"
    shown = text[text.index(start) + len(start) : text.index(end)]
    assert shown == matrix_markdown()
