"""Remote-sensing results in the store, through the CLI and over HTTP, on SQLite and PostgreSQL:
``restora monitor fvc --mine --save`` keeps the FVC of the mine's sites, ``zone_cover`` answers
the latest per zone as of a date, the API uploads an NDVI GeoTIFF (multipart) and reads the
results back, with the monitoring's access rules.

The scene and zones are those of tests/monitoring/rs_support.py; the mine's sites A, B, C are
its zones, stored as WGS 84 polygons as the register keeps them.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from restora.cli import app as cli
from restora.errors import InputError
from restora.store import Store
from restora.store import remote_sensing as rs

COUNTY = "430599"


def _support() -> Any:
    name = "restora_tests_rs_support"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("rs_support.py")
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


S = _support()


def _mine_with_sites(engine: sa.Engine) -> None:
    from restora.store.tables import mines, sites

    with engine.begin() as conn:
        conn.execute(
            mines.insert(),
            [
                {"mine_id": "QS-M01", "name": "青山一号矿", "region_code": COUNTY,
                 "mineral": "coal", "status": "abandoned"},
                {"mine_id": "GZ-M01", "name": "外市矿", "region_code": "440105",
                 "mineral": "limestone", "status": "abandoned"},
            ],
        )  # fmt: skip
        conn.execute(
            sites.insert(),
            [
                {
                    "site_id": k,
                    "mine_id": "QS-M01",
                    "kind": f"pit {k}",
                    "geometry": S.wgs84_wkb(ring),
                }
                for k, ring in S.ZONES.items()
            ],
        )


@pytest.fixture
def store(db_url: str) -> Any:
    with Store(db_url) as s:
        _mine_with_sites(s.engine)
        yield s


@pytest.fixture
def rasters(tmp_path: Path) -> dict[str, Path]:
    after = S.NDVI + 0.1
    after[0, 0] = np.nan
    return {
        "before": S.write_raster(tmp_path / "ndvi-2024-06.tif", S.NDVI),
        "after": S.write_raster(tmp_path / "ndvi-2025-06.tif", after),
    }


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["monitor", *args])


# soil 0.1, veg 0.7 (rs_support): A 10/48, B 17/24, C 1; valid areas 800, 400, 200 m²
# area-weighted mean = (10/48 × 800 + 17/24 × 400 + 1 × 200) / 1400 = 650/1400
MEAN_2024 = 650 / 1400


def test_cli_save_and_zone_cover(store: Any, rasters: dict[str, Path]) -> None:
    db = store.url
    r = run("fvc", str(rasters["before"]), "--mine", "QS-M01", "--soil", "0.1", "--veg", "0.7",
            "--date", "2024-06-15", "--save", "--by", "tester", "--db", db, "-f", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["saved_id"] >= 1 and out["acquired_on"] == "2024-06-15"
    zones = {z["zone_id"]: z for z in out["zones"]}
    assert zones["A"]["fvc_mean"] == pytest.approx(10 / 48, abs=1e-6)
    assert zones["A"]["name"] == "pit A"
    assert zones["C"]["valid_area_m2"] == 200.0
    assert out["params"]["endmembers"] == {"ndvi_soil": 0.1, "ndvi_veg": 0.7, "method": "given",
                                           "scope": None, "percentiles": None, "pixels": None}  # fmt: skip

    # a year later, percentile end-members this time
    r = run("fvc", str(rasters["after"]), "--mine", "QS-M01", "--date", "2025-06-15", "--save",
            "--db", db, "-f", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    later = json.loads(r.output)
    assert later["params"]["endmembers"]["method"] == "percentile"

    # the latest per zone, and as of a date between the two images
    latest = rs.zone_cover(store, "QS-M01")
    assert [z["acquired_on"] for z in latest] == ["2025-06-15"] * 3
    assert latest[0]["result_id"] == later["saved_id"]
    before = rs.zone_cover(store, "QS-M01", on=dt.date(2025, 1, 1))
    assert [z["zone_id"] for z in before] == ["A", "B", "C"]
    assert before[1]["fvc_mean"] == pytest.approx(17 / 24, abs=1e-6)
    assert before[0]["sha256"] == out["sha256"]
    assert rs.zone_cover(store, "QS-M01", on=dt.date(2024, 1, 1)) == []

    r = run("zone-cover", "--mine", "QS-M01", "--on", "2024-12-31", "--db", db, "-f", "json")
    assert r.exit_code == 0, r.output
    cover = json.loads(r.output)
    assert cover["fvc_area_weighted_mean"] == pytest.approx(MEAN_2024, abs=1e-6)

    r = run("rs-results", "--mine", "QS-M01", "--db", db, "-f", "json")
    listed = json.loads(r.output)
    assert [x["acquired_on"] for x in listed] == ["2025-06-15", "2024-06-15"]
    assert listed[1]["created_by"] == "tester" and listed[1]["file_name"] == "ndvi-2024-06.tif"
    # each --save is in the audit trail: who, the command, the file and its hash
    trail = _trail(store.engine)
    assert [(t["record_id"], t["command"], t["user_name"]) for t in trail] == [
        (str(out["saved_id"]), "monitor fvc", "tester"),
        (str(later["saved_id"]), "monitor fvc", trail[1]["user_name"]),
    ]
    assert trail[0]["files"][0]["sha256"] == out["sha256"]
    assert trail[0]["after"]["endmembers"]["method"] == "given"


def _trail(engine: sa.Engine) -> list[dict[str, Any]]:
    from restora.store.tables import audit, changes

    q = (
        sa.select(audit.c.record_id, audit.c.mine_id, audit.c.after, changes.c.command,
                  changes.c.user_name, changes.c.files, changes.c.request_id)
        .join(changes, changes.c.id == audit.c.change_id)
        .where(audit.c.table_name == "monitoring_rs_results")
        .order_by(audit.c.id)
    )  # fmt: skip
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def test_zone_cover_takes_each_zone_from_its_latest_result(store: Any) -> None:
    # a partial image (zone A only) after a full one: A from the partial, B from the full one
    day = dt.date
    full = rs.save_result(store, mine_id="QS-M01", kind="fvc", acquired_on=day(2024, 6, 1),
                          sha256="a" * 64, params={}, zones=[
                              {"zone_id": "A", "fvc_mean": 0.4, "valid_area_m2": 100.0},
                              {"zone_id": "B", "fvc_mean": 0.7, "valid_area_m2": 300.0}])  # fmt: skip
    part = rs.save_result(store, mine_id="QS-M01", kind="fvc", acquired_on=day(2024, 9, 1),
                          sha256="b" * 64, params={},
                          zones=[{"zone_id": "A", "fvc_mean": 0.5, "valid_area_m2": 100.0}])  # fmt: skip
    rs.save_result(store, mine_id="QS-M01", kind="water", acquired_on=day(2024, 10, 1),
                   sha256="c" * 64, params={}, zones=[{"zone_id": "A", "water_area_m2": 5.0}])  # fmt: skip
    got = {z["zone_id"]: (z["fvc_mean"], z["result_id"]) for z in rs.zone_cover(store, "QS-M01")}
    assert got == {"A": (0.5, part["id"]), "B": (0.7, full["id"])}
    assert rs.rs_results(store, "QS-M01", kind="water")[0]["zones"][0]["water_area_m2"] == 5.0
    assert rs.rs_result(store, full["id"])["sha256"] == "a" * 64  # type: ignore[index]
    assert rs.rs_result(store, 10_000) is None


def test_save_refuses_unknown_mine_and_kind(store: Any) -> None:
    with pytest.raises(InputError, match="no mine 'XX'"):
        rs.save_result(store, mine_id="XX", kind="fvc", acquired_on=dt.date(2024, 1, 1),
                       sha256="0", params={}, zones=[])  # fmt: skip
    with pytest.raises(InputError, match="unknown kind"):
        rs.save_result(store, mine_id="QS-M01", kind="ndvi", acquired_on=dt.date(2024, 1, 1),
                       sha256="0", params={}, zones=[])  # fmt: skip
    with pytest.raises(InputError, match="no site with a geometry"):
        rs.mine_zones(store, "GZ-M01")


def test_cli_change_water_and_errors(rasters: dict[str, Path], tmp_path: Path) -> None:
    zones = S.write_zones(tmp_path / "zones.geojson", S.ZONES)
    r = run("fvc-change", str(rasters["before"]), str(rasters["after"]), "--zones", str(zones),
            "--soil", "0.1", "--veg", "0.7", "-f", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    ch = {z["zone_id"]: z for z in json.loads(r.output)["zones"]}
    assert ch["B"]["delta_fvc_mean"] == pytest.approx(1 / 12, abs=1e-6)  # see test_rs_io
    # NDVI < 0 as water: (3,0) and (3,1) in A, both dates (NDVI + 0.1: −0.1 still, 0.0 not)
    r = run("water", str(rasters["after"]), "--before", str(rasters["before"]), "--index", "ndvi",
            "--zones", str(zones), "-f", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    a = json.loads(r.output)["zones"][0]
    assert (a["water_area_before_m2"], a["water_area_m2"], a["lost_m2"]) == (200.0, 100.0, 100.0)
    # CSV of the scene
    r = run("fvc", str(rasters["before"]), "--soil", "0.1", "--veg", "0.7", "-f", "csv")
    assert r.exit_code == 0 and r.output.splitlines()[1].startswith("scene,,16,")
    # bad input: exit 2, naming what is wrong
    shifted = S.write_raster(tmp_path / "shifted.tif", S.NDVI, origin=(S.X0 + 10, S.Y0))
    r = run("fvc-change", str(rasters["before"]), str(shifted), "--soil", "0.1", "--veg", "0.7")
    assert r.exit_code == 2 and "shifted.tif" in r.output and "grid does not match" in r.output
    r = run("fvc", str(rasters["before"]), "--save")
    assert r.exit_code == 2 and "--save needs --mine and --date" in r.output
    r = run("fvc", str(rasters["before"]), "--soil", "0.1")
    assert r.exit_code == 2 and "give both" in r.output
    r = run("fvc", str(tmp_path / "missing.tif"))
    assert r.exit_code == 2 and "missing.tif" in r.output
    r = run("fvc", str(rasters["before"]), "--classes", "0.5,0.2")
    assert r.exit_code == 2 and "strictly increasing" in r.output


# ------------------------------------------------------------------------------ over HTTP
def _bearer(engine: Any, username: str, role: str, **kw: Any) -> dict[str, str]:
    from restora.service import credentials
    from restora.store import accounts
    from restora.store.audit import Change

    account = credentials.new_account(
        engine, username=username, role=role, password="correct horse battery staple",
        change=Change("t"), **kw,
    )  # fmt: skip
    token, sha = credentials.new_token(credentials.TOKEN_PREFIX)
    accounts.create_token(
        engine, account.id, name="t", token_sha256=sha, expires_at=None, change=Change("t")
    )
    return {"Authorization": f"Bearer {token}"}


def test_api_upload_and_read(db_url: str, tmp_path: Path, rasters: dict[str, Path]) -> None:
    from fastapi.testclient import TestClient

    from restora.service.app import create_app
    from restora.service.settings import Settings
    from restora.store import accounts
    from restora.store.audit import Change

    app = create_app(
        Settings(database_url=db_url, secret_key="test-secret-key", secret_key_from_env=True,
                 data_dir=tmp_path / "data")
    )  # fmt: skip
    engine = app.state.store.engine
    _mine_with_sites(engine)
    other = accounts.create_organisation(engine, "另一家", "enterprise", change=Change("t"))["id"]
    h = {
        "eco": _bearer(engine, "rs-eco", "ecology_environment", region_code=COUNTY),
        "eco_away": _bearer(engine, "rs-away", "ecology_environment", region_code="440100"),
        "eval": _bearer(engine, "rs-eval", "evaluator"),
        "other": _bearer(engine, "rs-other", "enterprise", org_id=other, region_code=COUNTY),
        "village": _bearer(engine, "rs-village", "village", region_code=COUNTY),
    }
    api = "/api/v1/monitoring/rs"
    data = rasters["before"].read_bytes()

    def post(who: str, **form: str) -> Any:
        files = {"file": ("ndvi.tif", data, "image/tiff")}
        return c.post(f"{api}/mines/QS-M01/fvc", files=files, data=form, headers=h[who])

    with TestClient(app, raise_server_exceptions=False) as c:
        r = post("eco", acquired_on="2024-06-15", soil="0.1", veg="0.7")
        assert r.status_code == 200, r.text
        stored = r.json()
        assert stored["id"] >= 1 and stored["created_by"] == "rs-eco"
        zones = {z["zone_id"]: z for z in stored["zones"]}
        assert zones["B"]["fvc_median"] == pytest.approx(0.75, abs=1e-6)
        # compute only
        r = post("eco", acquired_on="2024-07-01", save="false")
        assert r.status_code == 200 and r.json()["id"] == 0
        assert r.json()["params"]["endmembers"]["ndvi_soil"] == pytest.approx(-0.135, abs=1e-6)

        r = c.get(f"{api}/mines/QS-M01/zone-cover", headers=h["eval"])
        assert r.status_code == 200, r.text
        assert r.json()["fvc_area_weighted_mean"] == pytest.approx(MEAN_2024, abs=1e-6)
        assert [z["zone_id"] for z in r.json()["zones"]] == ["A", "B", "C"]
        assert c.get(f"{api}/mines/QS-M01/zone-cover", params={"on": "2024-01-01"},
                     headers=h["eval"]).json()["zones"] == []  # fmt: skip
        listed = c.get(f"{api}/mines/QS-M01/results", headers=h["eval"]).json()
        assert [x["id"] for x in listed] == [stored["id"]]
        one = c.get(f"{api}/results/{stored['id']}", headers=h["eval"])
        assert one.status_code == 200 and one.json()["sha256"] == stored["sha256"]

        # who may: the bureau of another region cannot write here; an enterprise without the
        # mine in its projects does not see it; village has no monitoring.read; the public none
        assert post("eco_away", acquired_on="2024-06-15").status_code == 403
        assert c.get(f"{api}/mines/QS-M01/results", headers=h["other"]).status_code == 404
        assert c.get(f"{api}/results/{stored['id']}", headers=h["other"]).status_code == 404
        assert c.get(f"{api}/mines/QS-M01/results", headers=h["village"]).status_code == 403
        assert c.get(f"{api}/mines/QS-M01/results").status_code == 401
        # bad input: 422 naming the problem
        bad = c.post(f"{api}/mines/QS-M01/fvc", headers=h["eco"],
                     files={"file": ("x.tif", b"not a tiff", "image/tiff")},
                     data={"acquired_on": "2024-06-15"})  # fmt: skip
        assert bad.status_code == 422 and "x.tif" in bad.text
        assert c.get(f"{api}/mines/NOPE/results", headers=h["eval"]).status_code == 404
        missing = c.post(f"{api}/mines/QS-M01/fvc", headers=h["eco"], data={"soil": "0.1"})
        assert missing.status_code == 422
        assert {e["field"] for e in missing.json()["errors"]} == {"file", "acquired_on"}
        # the stored upload (only it) is in the audit trail, with the request that made it
        (entry,) = _trail(engine)
        assert entry["record_id"] == str(stored["id"]) and entry["user_name"] == "rs-eco"
        assert entry["request_id"] and entry["command"].startswith("POST /api/v1/monitoring/rs/")
