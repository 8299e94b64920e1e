"""The pages over HTTP (no browser): who is sent where, region scope of the map's data, the
language switch, the API docs page's CSP, the county boundary of the offline basemap."""

from __future__ import annotations

import base64
import hashlib
import re
from contextlib import closing
from typing import Any

import httpx
import pytest

ZH = {"accept-language": "zh-CN"}


def _client(served: Any, username: str | None = None) -> httpx.Client:
    c = httpx.Client(base_url=served.url, follow_redirects=False, timeout=120)
    if username is not None:
        r = c.post("/auth/session", json={"username": username, "password": served.password})
        assert r.status_code == 200, r.text
    return c


def _account(served: Any, username: str, role: str, region: str | None) -> None:
    from restora.service.credentials import new_account
    from restora.store.audit import Change

    new_account(
        served.app.state.store.engine,
        username=username,
        role=role,
        password=served.password,
        region_code=region,
        change=Change("tests/web/test_pages", user="tests"),
    )


def test_the_anonymous_are_sent_to_sign_in_and_back(served: Any) -> None:
    with closing(_client(served)) as c:
        r = c.get("/map")
        assert r.status_code == 303
        assert r.headers["location"] == "/signin?next=/map"
        r = c.get("/")
        assert r.headers["location"] == "/public"


def test_a_role_without_the_action_gets_a_403_page(served: Any) -> None:
    with closing(_client(served, served.usernames["village"])) as c:
        r = c.get("/map", headers={"accept-language": "zh-CN"})
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("text/html")
        assert "无权访问" in r.text
        assert "矿山名录地图" not in r.text.split("<main")[0]  # not in its navigation either


def test_region_scope_of_the_map_and_the_mine_page(served: Any) -> None:
    _account(served, "nr-other-county", "natural_resources", "430100")
    with closing(_client(served, served.usernames["natural_resources"])) as own:
        sites = own.get("/web/geo/sites.geojson").json()["features"]
        assert len(sites) == 133
        assert {f["properties"]["mine_id"][:3] for f in sites} == {"QS-"}
        assert own.get("/mines/QS-M09").status_code == 200
    with closing(_client(served, "nr-other-county")) as other:
        assert other.get("/web/geo/sites.geojson").json()["features"] == []
        assert other.get("/web/geo/mines.geojson").json()["features"] == []
        r = other.get("/mines/QS-M09")
        assert r.status_code == 404  # a record outside the scope is not theirs to see
        assert "QS-M09" not in re.sub(r"<p class=\"muted\">.*?</p>", "", r.text.split("<main")[1])


def test_map_data_carries_the_platform_ranking(served: Any) -> None:
    """Rank, score and class on the map are the mines API's (one ranking for the platform)."""
    with closing(_client(served, served.usernames["admin"])) as c:
        api = {
            m["mine_id"]: m for m in c.get("/api/v1/mines", params={"limit": 500}).json()["items"]
        }
        mines = c.get("/web/geo/mines.geojson").json()["features"]
    assert len(mines) == len(api) == 40
    for f in mines:
        p = f["properties"]
        m = api[p["mine_id"]]
        assert (p["rank"], p["priority_class"]) == (m["priority_rank"], m["priority_class"])
        assert p["score"] == pytest.approx(m["priority_score"])
    # classes cut the ranking into thirds (refdata priority/classes): 40 mines -> 13, 13, 14
    by_class: dict[str, int] = {}
    for f in mines:
        by_class[f["properties"]["priority_class"]] = (
            by_class.get(f["properties"]["priority_class"], 0) + 1
        )
    assert by_class == {"high": 13, "medium": 13, "low": 14}
    # the mine page says the same rank (its county diagnosis ranks as the platform does)
    first = next(k for k, m in api.items() if m["priority_rank"] == 1)
    last = max(api.values(), key=lambda m: m["priority_rank"])
    with closing(_client(served, served.usernames["admin"])) as c:
        assert "第 1 名（共 40 座）" in c.get(f"/mines/{first}", headers=ZH).text
        page = c.get(f"/mines/{last['mine_id']}", headers=ZH).text
        assert f"第 {last['priority_rank']} 名（共 40 座）" in page


def test_the_county_boundary_holds_every_site(served: Any) -> None:
    import shapely
    from shapely.geometry import shape

    with closing(_client(served, served.usernames["natural_resources"])) as c:
        county = c.get("/web/geo/county.geojson").json()["features"]
        sites = c.get("/web/geo/sites.geojson").json()["features"]
    assert len(county) == 1 and county[0]["properties"]["source"] == "context"
    boundary = shape(county[0]["geometry"])
    # the demo county: about 46 km x 47 km around 112.9 E, 27.6 N (examples/demo-county/README.md)
    w, s, e, n = boundary.bounds
    assert 110 < w < e < 115 and 26 < s < n < 29
    union = shapely.union_all([shape(f["geometry"]) for f in sites])
    assert boundary.buffer(1e-3).contains(union)


def test_language_switch_and_no_redirect_to_another_site(served: Any) -> None:
    with closing(_client(served)) as c:
        r = c.get("/lang/en", params={"next": "/public"})
        assert r.status_code == 303 and r.headers["location"] == "/public"
        assert "restora_lang=en" in r.headers["set-cookie"]
        page = c.get("/public")
        assert '<html lang="en">' in page.text and "Public disclosure" in page.text
        for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            r = c.get("/lang/zh_CN", params={"next": evil})
            assert r.headers["location"] == "/", evil
        page = c.get("/public")
        assert '<html lang="zh-CN">' in page.text and "信息公开" in page.text
        assert c.get("/lang/fr").status_code == 404


def test_api_docs_page_is_served_locally_under_a_strict_csp(served: Any) -> None:
    with closing(_client(served)) as c:
        r = c.get("/api/v1/docs")
    assert r.status_code == 200
    html = r.text
    assert "cdn" not in html.lower() and "https://" not in html
    assert re.search(r'src="/static/vendor/swagger-ui-dist-[\d.]+/swagger-ui-bundle.js"', html)
    csp = r.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert "style-src 'self'" in csp
