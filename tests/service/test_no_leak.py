"""No response to the public carries a non-public field (issue 13, "Done when").

What the public may see is declared once: :data:`restora.service.permissions.PUBLIC_FIELDS` (per
subject: a disclosed mine, a disclosed project, a complaint followed by its receipt, one's own
session, and the envelopes: pages, GeoJSON, problem details) and
:data:`~restora.service.permissions.NEVER_PUBLIC` (accounts and their secrets, people's names
and contacts, appraisals, costs and finance of projects).

The test walks every route the public may call (its action allowed to the role ``public``;
routers added later are walked too) on the demo county after a bureau disclosed two mines and a
published project, while an unpublished project and a complaint with a phone number exist, and
checks:

- every key of every JSON response (at any depth) is in the union of PUBLIC_FIELDS and none is
  in NEVER_PUBLIC; the response schemas of the OpenAPI document declare no other field either
  (so a field that is empty in the demo data cannot hide);
- no response, JSON or HTML, contains the bureau clerk's name, the complainant's text or phone
  number, a password hash or token digest, the unpublished project's name or its costs;
- the registry (issue 15): with accounts opened, units issued by the clerk, transferred,
  pledged and retired by an enterprise's user and the log signed, the public registry pages,
  records and proofs carry organisations' account names only — never a user's name or
  username — and the pledge (not a public record) is not disclosed; an evaluator's sign-off
  of a milestone and a verified outcome (public records too, issue 16) carry the evaluator's
  organisation, never its username or name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from restora.service import credentials
from restora.service.changes import declared_action
from restora.service.permissions import NEVER_PUBLIC, PUBLIC_FIELDS, allowed
from restora.store import accounts
from restora.store.audit import Change
from restora.store.platform_tables import users
from restora.store.tables import mines as MINES

ROOT = Path(__file__).resolve().parents[2]
COUNTY = "430599"  # examples/demo-county/README.md: 青山县, code 430599
PASSWORD = "correct horse battery staple"
CLERK = "张三丰（青山县自然资源局生态修复科）"
PHONE = "13912345678"
COMPLAINT = f"尾矿库渗水流进稻田，请尽快处理。联系人李四，电话 {PHONE}"
SECRET_PROJECT = "未公开的修复项目-内部测算"
ALLOWED = frozenset().union(*PUBLIC_FIELDS.values())
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def public_routes(app: Any) -> list[tuple[str, str, Any]]:
    """``(path, method, route)`` of every route whose action the public may do."""
    out = []
    for ctx in iter_route_contexts(app.routes):
        action = declared_action(ctx)
        if action is None or not allowed("public", action):
            continue
        for method in sorted(set(ctx.methods or ()) - {"HEAD"}):
            out.append((ctx.path, method, ctx))
    return out


def keys(value: Any) -> set[str]:
    """Every key of a JSON value, at any depth."""
    if isinstance(value, dict):
        return set(value).union(*(keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys(v) for v in value))
    return set()


def schema_fields(openapi: dict[str, Any], schema: dict[str, Any], seen: set[str]) -> set[str]:
    """The property names a response schema declares, following references."""
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            return set()
        seen.add(name)
        return schema_fields(openapi, openapi["components"]["schemas"][name], seen)
    out = set(schema.get("properties", {}))
    for sub in schema.get("properties", {}).values():
        out |= schema_fields(openapi, sub, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            out |= schema_fields(openapi, schema[key], seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            out |= schema_fields(openapi, sub, seen)
    return out


def _bearer(engine: Any, username: str, role: str, **kw: Any) -> dict[str, str]:
    account = credentials.new_account(
        engine, username=username, role=role, password=PASSWORD, change=Change("t"), **kw
    )
    token, sha = credentials.new_token(credentials.TOKEN_PREFIX)
    accounts.create_token(
        engine, account.id, name="t", token_sha256=sha, expires_at=None, change=Change("t")
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def registry_key(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The registry's signing key for the module (heads, keys and proofs have something)."""
    import os

    from restora.registry.signing import ENV_KEY, generate_key

    path = tmp_path_factory.mktemp("leak-registry-key") / "registry.pem"
    generate_key(path)
    old = os.environ.get(ENV_KEY)
    os.environ[ENV_KEY] = str(path)
    yield path
    if old is None:
        os.environ.pop(ENV_KEY, None)
    else:
        os.environ[ENV_KEY] = old


FIRM_USER = "王五（青山修复工程有限公司碳资产部）"
PLEDGE = "PL-SECRET-质押合同-0042"


def _registry(client: TestClient, engine: Any, nr: dict[str, str]) -> tuple[int, list[str]]:
    """Accounts, an issuance, a transfer, a pledge and a retirement; the retirement's event id
    and the values no public response may carry."""
    firm = accounts.create_organisation(
        engine, "青山修复工程有限公司", "enterprise", change=Change("t")
    )
    bank = accounts.create_organisation(engine, "青山农商银行", "bank", change=Change("t"))
    ev = accounts.create_organisation(engine, "湘中第三方评估中心", "evaluator", change=Change("t"))
    firm_h = _bearer(engine, "leak-firm", "enterprise", org_id=firm["id"], display_name=FIRM_USER)
    eval_h = _bearer(engine, "leak-eval", "evaluator", org_id=ev["id"], display_name="赵六")
    api = "/api/v1/registry"
    acc = {}
    for name, org in (("firm", firm), ("bank", bank)):
        r = client.post(
            f"{api}/accounts", json={"kind": "holding", "org_id": org["id"]}, headers=nr
        )
        assert r.status_code == 201, r.text
        acc[name] = r.json()["account"]
    r = client.post(
        f"{api}/verifications",
        json={"verification": "V-LEAK", "unit_type": "CSINK", "project_id": "QS-P-M09",
              "vintage": 2026, "region_code": COUNTY, "amount": 500, "report_sha256": "cd" * 32},
        headers=eval_h,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    r = client.post(
        f"{api}/issue",
        json={"verification": "V-LEAK", "account": acc["firm"], "amount": 500,
              "attrs": {"methodology": "CCER-14-001-V01"}},
        headers=nr,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    for path, body in (
        ("101-200/transfer", {"to": acc["bank"]}),
        ("201-250/pledge", {"lender": acc["bank"], "pledge": PLEDGE}),
        ("1-50/retire", {"beneficiary": "青山修复工程有限公司", "purpose": "2026 年度碳中和"}),
    ):
        r = client.post(f"{api}/blocks/CSINK/{path}", json=body, headers=firm_h)
        assert r.status_code == 200, r.text
    return r.json()["events"][-1]["id"], [FIRM_USER, "leak-firm", "leak-nr", "leak-eval", PLEDGE]


@pytest.fixture(scope="module")
def world(app: Any, registry_key: Any) -> dict[str, Any]:
    """The demo county with two disclosed mines, a disclosed published project, an unpublished
    one, and a complaint."""
    engine = app.state.store.engine
    nr = _bearer(engine, "leak-nr", "natural_resources", region_code=COUNTY, display_name=CLERK)
    client = TestClient(app, raise_server_exceptions=False)
    with engine.connect() as conn:
        ids = list(
            conn.execute(
                sa.select(MINES.c.mine_id).where(MINES.c.region_code == COUNTY).order_by("mine_id")
            ).scalars()
        )
    disclosed = ids[:2]
    for mine_id in disclosed:
        r = client.post(
            "/api/v1/disclosures", json={"subject": "mine", "subject_id": mine_id}, headers=nr
        )
        assert r.status_code in (200, 201), r.text
    values: dict[str, str] = {"mine_id": disclosed[0], "locale": "en"}
    from restora.store import projects

    spec = yaml.safe_load((ROOT / "examples/demo-projects/QS-M09.yaml").read_text("utf-8"))
    published = projects.create_project(app.state.store, spec, published=True, change=Change("t"))
    r = client.post(
        "/api/v1/disclosures",
        json={"subject": "project", "subject_id": published["project_id"]},
        headers=nr,
    )
    assert r.status_code in (200, 201), r.text
    values["project_id"] = published["project_id"]
    secret = yaml.safe_load((ROOT / "examples/demo-projects/QS-M10.yaml").read_text("utf-8"))
    secret |= {"project_id": "QS-P-SECRET", "name": SECRET_PROJECT, "opex_cny_per_yr": 7654321.0}
    projects.create_project(app.state.store, secret, published=False, change=Change("t"))
    from restora.store import disclosure

    filed = disclosure.file_complaint(
        engine,
        text=COMPLAINT,
        lon=None,
        lat=None,
        mine_id=disclosed[0],
        region_code=COUNTY,
        client_sha256="0" * 64,
        token_sha256=None,
        photos=[],
        limit_per_hour=100,
        change=Change("complaint", user="public"),
    )
    values["receipt"] = filed["receipt"]
    event_id, registry_secrets = _registry(client, engine, nr)
    values["event_id"] = str(event_id)
    with engine.connect() as conn:
        hashes = [h for h in conn.execute(sa.select(users.c.password_hash)).scalars() if h]
    secrets = [CLERK, COMPLAINT, PHONE, "李四", SECRET_PROJECT, "QS-P-SECRET", "7654321", *hashes]
    secrets += registry_secrets
    return {"values": values, "secrets": secrets, "client": client}


def _url(path: str, values: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: values.get(m.group(1), "1"), path)


def test_the_public_routes_are_walked(app, world):
    paths = {p for p, _, _ in public_routes(app)}
    assert {"/auth/session", "/api/v1/public/mines", "/api/v1/public/mines/{mine_id}"} <= paths
    assert {
        "/public/registry", "/public/registry/events/{event_id}",
        "/api/v1/registry/proofs/inclusion/{event_id}", "/api/v1/registry/head",
    } <= paths  # fmt: skip
    client = world["client"]
    mines = client.get("/api/v1/public/mines").json()
    assert mines["total"] == 2  # the two disclosed mines, nothing else
    one = client.get(f"/api/v1/public/mines/{world['values']['mine_id']}")
    assert one.status_code == 200 and one.json()["responsible_party"] is not None
    # the registry's public pages have something to show (else they would prove nothing)
    event = world["values"]["event_id"]
    record = client.get(f"/public/registry/events/{event}")
    assert record.status_code == 200 and "2026 年度碳中和" in record.text
    proof = client.get(f"/api/v1/registry/proofs/inclusion/{event}")
    assert proof.status_code == 200 and proof.json()["head"] is not None
    index = client.get("/public/registry")
    assert index.status_code == 200 and "青山农商银行" in index.text


def test_no_public_response_carries_a_non_public_field_or_value(app, world):
    client, values = world["client"], world["values"]
    leaks = []
    for path, method, _ in public_routes(app):
        url = _url(path, values)
        kwargs: dict[str, Any] = {"follow_redirects": False}
        if method in ("POST", "PUT", "PATCH"):
            kwargs["json"] = {}
        r = client.request(method, url, **kwargs)
        if r.status_code >= 500:
            leaks.append(f"{method} {url}: {r.status_code} (an error is no answer to check)")
        for secret in world["secrets"]:
            if secret in r.text:
                leaks.append(f"{method} {url}: carries {secret[:20]!r}")
        if r.headers.get("content-type", "").split(";")[0].endswith("json"):
            found = keys(r.json())
            for key in sorted(found - ALLOWED):
                leaks.append(f"{method} {url}: field {key!r} is not declared public")
            for key in sorted(found & NEVER_PUBLIC):
                leaks.append(f"{method} {url}: field {key!r} is never public")
    assert not leaks, "\n".join(leaks)


def test_the_public_response_schemas_declare_only_public_fields(app):
    """What the API document says the public routes answer. One's own session
    (``session.manage``) is left out: it names the signed-in account to that account, and the
    public's answer (``signed_in``, ``role``) is checked by the walk above."""
    openapi = app.openapi()
    wrong = []
    for path, method, ctx in public_routes(app):
        if declared_action(ctx) == "session.manage":
            continue
        op = openapi.get("paths", {}).get(path, {}).get(method.lower())
        if op is None:  # a page outside the API description
            continue
        for status, response in op.get("responses", {}).items():
            if not str(status).startswith("2"):
                continue
            for content in response.get("content", {}).values():
                fields = schema_fields(openapi, content.get("schema", {}), set())
                wrong += [f"{method} {path}: {f}" for f in sorted(fields - ALLOWED)]
                wrong += [
                    f"{method} {path}: {f} (never public)" for f in sorted(fields & NEVER_PUBLIC)
                ]
    assert not wrong, "\n".join(wrong)


EVALUATOR = "孙八（湘中第三方评估中心土壤组）"


def test_a_sign_off_and_its_verified_outcome_name_the_organisation_never_the_person(app, world):
    """An evaluator's sign-off of a milestone and a verified outcome are public records (the
    basis of an issuance): their records, pages and proofs carry the evaluator's organisation
    and only public fields — never the evaluator's username or name."""
    from restora.store import verification as V

    engine, client = app.state.store.engine, world["client"]
    org = next(o for o in accounts.list_organisations(engine) if o["name"] == "湘中第三方评估中心")
    username = "leak-signer"
    h = _bearer(
        engine, username, "evaluator", org_id=org["id"], region_code=COUNTY,
        display_name=EVALUATOR,
    )  # fmt: skip
    project = world["values"]["project_id"]
    V.add_milestone(
        app.state.store, project_id=project, name="leak-survival", indicator="plant_survival",
        target=0.8,
    )  # fmt: skip
    r = client.post(
        f"/api/v1/monitoring/milestones/{project}/leak-survival/sign-off",
        json={"decision": "accepted", "report_sha256": "ef" * 32, "value": 0.9,
              "note": "3 plots counted"},
        headers=h,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    signed = r.json()["event_id"]
    (outcome,) = client.get(
        "/api/v1/registry/public/events", params={"kind": "verify_outcome"}
    ).json()  # V-LEAK, recorded by leak-eval through the registry API
    secrets = [username, EVALUATOR, "leak-eval", "赵六", *world["secrets"]]
    leaks = []
    for event_id, kind in ((signed, "sign_off"), (outcome["id"], "verify_outcome")):
        rec = client.get(f"/api/v1/registry/public/events/{event_id}")
        assert rec.status_code == 200 and rec.json()["kind"] == kind
        found = keys(rec.json())
        leaks += [f"{kind}: field {k!r} is not declared public" for k in found - ALLOWED]
        leaks += [f"{kind}: field {k!r} is never public" for k in found & NEVER_PUBLIC]
        for url in (
            f"/api/v1/registry/public/events/{event_id}",
            f"/public/registry/events/{event_id}",
            f"/api/v1/registry/proofs/inclusion/{event_id}",
            "/public/registry",
            "/api/v1/registry/public/events",
        ):
            text = client.get(url).text
            leaks += [f"{url}: carries {x[:20]!r}" for x in secrets if x in text]
    assert not leaks, "\n".join(leaks)
    record = client.get(f"/api/v1/registry/public/events/{signed}").json()
    assert record["evaluator_organisation"] == "湘中第三方评估中心"
    assert record["decision"] == "accepted" and record["value"] == 0.9
    assert "湘中第三方评估中心" in client.get(f"/public/registry/events/{signed}").text


def test_the_secrets_are_there_for_those_who_may_see_them(app, world):
    """The values the public must not see are in the store and shown to the roles that may
    (else the leak test above would prove nothing)."""
    engine = app.state.store.engine
    admin = _bearer(engine, "leak-admin", "admin")
    client = world["client"]
    clerk = client.get("/api/v1/users", params={"limit": 500}, headers=admin).text
    assert CLERK in clerk
    r = client.get("/api/v1/projects/QS-P-SECRET", headers=admin)
    assert r.status_code == 200 and SECRET_PROJECT in r.text
    complaints = client.get("/api/v1/complaints", params={"limit": 500}, headers=admin)
    assert complaints.status_code == 200 and PHONE in complaints.text
