"""The app's core: health, problem details, request ids, security headers, pagination."""

from __future__ import annotations

import json

import pytest

from restora.service.permissions import allowed, in_scope, region_prefix
from restora.service.problems import MEDIA_TYPE


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"]["store"] == "ok"


def test_every_response_has_a_request_id_and_security_headers(client):
    r = client.get("/healthz", headers={"X-Request-ID": "abc12345-given"})
    assert r.headers["x-request-id"] == "abc12345-given"
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in r.headers  # only behind TLS
    bad = client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert bad.headers["x-request-id"] != "<script>"


def test_errors_are_problem_details_naming_the_field(client, monkeypatch):
    # the public may not read the register: 401 with a problem document
    r = client.get("/api/v1/mines")
    assert r.status_code == 401 and r.headers["content-type"].startswith(MEDIA_TYPE)
    body = r.json()
    assert body["status"] == 401 and body["instance"] == "/api/v1/mines"
    assert body["request_id"] == r.headers["x-request-id"]
    # as an authorised role: a bad query parameter names its field
    from restora.service.security import Principal

    client.app.state.authenticate = _as(Principal(role="admin", user_id=1, username="a"))
    try:
        r = client.get("/api/v1/mines", params={"limit": 0})
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "limit"
        r = client.get("/api/v1/mines", params={"sort": "secret"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sort"
        r = client.get("/api/v1/mines/NOPE")
        assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"
    finally:
        client.app.state.authenticate = None


def _as(principal):
    async def authenticate(request):
        return principal

    return authenticate


def test_mine_list_pages_filters_and_sorts(client):
    from restora.service.security import Principal

    client.app.state.authenticate = _as(Principal(role="admin", user_id=1, username="a"))
    try:
        page = client.get("/api/v1/mines", params={"limit": 10, "sort": "-area_hm2"}).json()
        # examples/demo-county/README.md: 40 mines
        assert page["total"] == 40 and len(page["items"]) == 10
        areas = [m["area_hm2"] for m in page["items"]]
        assert areas == sorted(areas, reverse=True)
        m = page["items"][0]
        assert m["area_mu"] == pytest.approx(m["area_hm2"] * 15)
        coal = client.get("/api/v1/mines", params={"mineral": "coal", "limit": 500}).json()
        assert coal["total"] == sum(1 for x in _all(client) if x["mineral"] == "coal")
        one = client.get(f"/api/v1/mines/{m['mine_id']}").json()
        assert one == m
    finally:
        client.app.state.authenticate = None


def _all(client):
    return client.get("/api/v1/mines", params={"limit": 500}).json()["items"]


def test_a_county_scope_sees_only_its_county(client):
    from restora.service.security import Principal

    client.app.state.authenticate = _as(Principal(role="admin", user_id=1, username="a"))
    try:
        everything = _all(client)
    finally:
        client.app.state.authenticate = None
    region = everything[0]["region_code"]
    client.app.state.authenticate = _as(
        Principal(role="natural_resources", user_id=2, username="b", region="999900")
    )
    try:
        assert client.get("/api/v1/mines").json()["total"] == 0  # another city: nothing
        r = client.get(f"/api/v1/mines/{everything[0]['mine_id']}")
        assert r.status_code == 404  # out of scope: not theirs to see
    finally:
        client.app.state.authenticate = None
    assert in_scope(region[:4] + "00", region) and not in_scope("999900", region)


def test_permission_matrix_basics():
    assert allowed("natural_resources", "register.write")
    assert not allowed("finance", "register.write") and not allowed("public", "register.read")
    assert region_prefix("430000") == "43"
    with pytest.raises(ValueError):
        allowed("admin", "no.such.action")


def test_openapi_is_served_under_api_v1(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.") and "/api/v1/mines" in doc["paths"]
    json.dumps(doc)
