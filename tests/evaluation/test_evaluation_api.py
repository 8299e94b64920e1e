"""The evaluation API (/api/v1/evaluation): who may read the indicators, the scope of a county
bureau, the disparity of a chosen measure, the XLSX export; on SQLite and PostgreSQL over the
synthetic store of tests/evaluation/indicators_support.py.
"""

from __future__ import annotations

import importlib.util
import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from restora.service import credentials
from restora.store import Store, accounts
from restora.store.audit import Change


def _support() -> Any:
    path = Path(__file__).with_name("indicators_support.py")
    spec = importlib.util.spec_from_file_location("restora_tests_indicators_support_", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.load()


S = _support()
API = "/api/v1/evaluation"


def _token(engine: Any, account: accounts.Account) -> dict[str, str]:
    token, sha = credentials.new_token(credentials.TOKEN_PREFIX)
    accounts.create_token(
        engine, account.id, name="t", token_sha256=sha, expires_at=None, change=Change("t")
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    from restora.service.app import create_app
    from restora.service.settings import Settings

    with Store(db_url) as store:
        S.build(store)
        engine = store.engine
        t = Change("t")
        heads = {}
        for name, role, region in (
            ("nr-hunan", "natural_resources", "430000"),
            ("nr-county", "natural_resources", "430521"),
            ("eco", "ecology_environment", None),
            ("bank", "finance", None),
            ("eva", "evaluator", None),
            ("firm", "enterprise", "430521"),
            ("village", "village", "430521"),
        ):
            made = credentials.new_account(
                engine, username=name, role=role, password=None, region_code=region, change=t
            )
            heads[name] = _token(engine, made)
        settings = Settings(
            database_url=db_url,
            secret_key="test-secret-key",
            secret_key_from_env=True,
            data_dir=tmp_path / "data",
        )
        with TestClient(create_app(settings)) as client:
            yield {"client": client, "h": heads}


def _values(body: dict[str, Any]) -> dict[str, Any]:
    return {i["code"]: i["value"] for i in body["indicators"]}


def test_roles(env: dict[str, Any]) -> None:
    c, h = env["client"], env["h"]
    q = {"on": S.ON.isoformat()}
    for who in ("eco", "bank", "eva"):
        r = c.get(f"{API}/indicators", params=q, headers=h[who])
        assert r.status_code == 200, (who, r.text)
        assert _values(r.json())["EVAL-INV-SOCIAL"] == pytest.approx(700.0)
    for who in ("firm", "village"):
        assert c.get(f"{API}/indicators", params=q, headers=h[who]).status_code == 403
    assert c.get(f"{API}/indicators", params=q).status_code == 401
    assert c.get(f"{API}/catalogue").status_code == 401
    cat = c.get(f"{API}/catalogue", headers=h["eva"]).json()
    assert {"EVAL-LEVERAGE", "EVAL-INV-SOCIAL-SHARE"} <= {d["code"] for d in cat}


def test_scope_of_a_bureau(env: dict[str, Any]) -> None:
    c, h = env["client"], env["h"]
    q = {"on": S.ON.isoformat()}
    # the Hunan bureau sees Hunan only: P1 and P2, damaged A + B + D = 180 hm²
    r = c.get(f"{API}/indicators", params=q, headers=h["nr-hunan"])
    assert r.status_code == 200
    body = r.json()
    assert body["projects"] == ["P1", "P2"] and body["filters"]["region"] == "43"
    assert _values(body)["EVAL-AREA-DAMAGED"] == pytest.approx(180.0)
    # a county inside its scope is fine; Guangdong is not
    r = c.get(f"{API}/indicators", params={**q, "region": "430521"}, headers=h["nr-hunan"])
    assert r.status_code == 200 and r.json()["projects"] == ["P1"]
    assert (
        c.get(f"{API}/indicators", params={**q, "region": "44"}, headers=h["nr-hunan"]).status_code
        == 403
    )
    # the county bureau may not widen its selection to the province
    r = c.get(f"{API}/indicators", params={**q, "region": "43"}, headers=h["nr-county"])
    assert r.status_code == 403
    r = c.get(f"{API}/indicators", params=q, headers=h["nr-county"])
    assert r.json()["projects"] == ["P1"]


def test_filters_and_bad_input(env: dict[str, Any]) -> None:
    c, h = env["client"], env["h"]
    q = {"on": S.ON.isoformat()}
    r = c.get(f"{API}/indicators", params={**q, "mineral": "metal"}, headers=h["eva"])
    assert r.json()["projects"] == ["P2"]
    r = c.get(f"{API}/indicators", params={**q, "mode": "resource_utilization"}, headers=h["eva"])
    assert r.json()["projects"] == ["P1"]
    r = c.get(f"{API}/indicators", params={**q, "from": 2025, "to": 2025}, headers=h["eva"])
    assert r.json()["projects"] == ["P2"]
    for bad in ({"mode": "tourism"}, {"region": "hunan"}, {"from": 2026, "to": 2024}):
        assert c.get(f"{API}/indicators", params=bad, headers=h["eva"]).status_code == 422


def test_disparity_of_a_measure(env: dict[str, Any]) -> None:
    c, h = env["client"], env["h"]
    params = {"on": S.ON.isoformat(), "measure": "restored_area_hm2", "by": "county"}
    r = c.get(f"{API}/disparity", params=params, headers=h["eco"])
    assert r.status_code == 200, r.text
    d = r.json()
    # restored area by county (100, 0, 0): Gini 2/3, Theil ln 3 = ln 2 (within) + ln 1.5
    assert d["n"] == 3 and d["gini"] == pytest.approx(2 / 3)
    assert d["theil"] == pytest.approx(math.log(3))
    assert d["theil_within"] + d["theil_between"] == pytest.approx(d["theil"])
    assert {x["region_code"] for x in d["regions"]} == {"430521", "430522", "440101"}
    bad = c.get(f"{API}/disparity", params={"measure": "jobs"}, headers=h["eco"])
    assert bad.status_code == 422


def test_xlsx_export(env: dict[str, Any]) -> None:
    from openpyxl import load_workbook

    c, h = env["client"], env["h"]
    r = c.get(f"{API}/indicators.xlsx", params={"on": S.ON.isoformat()}, headers=h["bank"])
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["content-disposition"]
    book = load_workbook(io.BytesIO(r.content))
    rows = list(book["指标 Indicators"].iter_rows(values_only=True))
    by_code = {row[0]: row for row in rows[1:]}
    assert by_code["EVAL-LEVERAGE"][3] == pytest.approx(1.75)
    assert c.get(f"{API}/indicators.xlsx", headers=h["firm"]).status_code == 403
