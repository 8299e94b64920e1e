"""``restora mines import|export|list|show`` on SQLite: exit codes, atomicity, round trips."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import shapely
from inventory_fixtures import X0, Y0
from typer.testing import CliRunner

from restora.cli import app
from restora.inventory.compare import register_differences
from restora.store import Store
from restora.store.tables import audit

runner = CliRunner()
BOWTIE = (
    "POLYGON ((500000 3320000, 500100 3320100, 500100 3320000, 500000 3320100, 500000 3320000))"
)
HEAD = "mine_id,name,region_code,mineral,status,site_id,kind,declared_area_hm2,slope_deg,wkt\n"


def _row(site: str, mine: str = "M1", dx: int = 0, slope: str = "20") -> str:
    wkt = shapely.to_wkt(shapely.box(X0 + dx, Y0, X0 + dx + 100, Y0 + 100))
    return f'{mine},甲矿,430181,coal,abandoned,{site},open_pit,1.0,{slope},"{wkt}"\n'


def _db(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "reg.db"
    url = f"sqlite:///{path}"
    Store(url).close()  # create and migrate, so the file exists before the failing imports
    return url, path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def seeded(tmp_path):
    """A store holding one good mine (so a failed import must leave it untouched)."""
    url, path = _db(tmp_path)
    good = tmp_path / "good.csv"
    good.write_text(HEAD + _row("S0", "M0", dx=5000), encoding="utf-8")
    res = _invoke("mines", "import", str(good), "--db", url, "--crs", "EPSG:4547")
    assert res.exit_code == 0, res.output
    return url, path


@pytest.mark.parametrize(
    "body, args, expected",
    [
        (
            HEAD + _row("S1") + f'M1,甲矿,430181,coal,abandoned,S2,open_pit,,,"{BOWTIE}"\n',
            ["--crs", "EPSG:4547"],
            ['row 2, column "wkt"', "Self-intersection"],
        ),
        (
            HEAD + _row("S1", slope="steep"),
            ["--crs", "EPSG:4547"],
            ['row 1, column "slope_deg"', '"steep" is not a number'],
        ),
        (
            HEAD.replace("mineral,", "") + _row("S1").replace("coal,", "", 1),
            ["--crs", "EPSG:4547"],
            ['column "mineral"', "missing required column"],
        ),
        (HEAD + _row("S1"), ["--crs", "EPSG:999999"], ["unknown CRS 'EPSG:999999'"]),
    ],
    ids=["bowtie", "text-in-number", "missing-column", "unknown-crs"],
)
def test_bad_input_exits_2_and_writes_nothing(seeded, tmp_path, body, args, expected):
    url, path = seeded
    before = _sha(path)
    bad = tmp_path / "bad.csv"
    bad.write_text(body, encoding="utf-8")
    res = _invoke("mines", "import", str(bad), "--db", url, *args)
    assert res.exit_code == 2, res.output
    message = " ".join(res.output.split())
    assert "bad.csv" in message
    for part in expected:
        assert part in message
    assert _sha(path) == before  # the database file is byte for byte unchanged
    assert Store(url).mine_ids() == ["M0"]


def test_repair_imports_the_bowtie(tmp_path):
    url, _ = _db(tmp_path)
    bad = tmp_path / "bow.csv"
    bad.write_text(HEAD + f'M1,甲矿,430181,coal,abandoned,S2,open_pit,,,"{BOWTIE}"\n', "utf-8")
    res = _invoke(
        "mines",
        "import",
        str(bad),
        "--db",
        url,
        "--crs",
        "EPSG:4547",
        "--repair",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["counts"]["sites"] == 1 and "Self-intersection" in out["repairs"][0]
    reg = Store(url).load_register()
    # two triangles of 100 m × 50 m / 2 = 2 500 m² each: 0.5 hm²
    assert reg.sites.loc[0, "area_hm2"] == pytest.approx(0.5, rel=1e-3)


def test_skip_invalid_writes_good_rows_and_rejects(tmp_path):
    url, _ = _db(tmp_path)
    body = HEAD + _row("S1") + _row("S2", "M2", dx=300, slope="steep") + _row("S3", "M3", dx=600)
    src = tmp_path / "mixed.csv"
    src.write_text(body, "utf-8")
    rejects = tmp_path / "rej.csv"
    res = _invoke(
        "mines",
        "import",
        str(src),
        "--db",
        url,
        "--crs",
        "EPSG:4547",
        "--skip-invalid",
        "--rejects",
        str(rejects),
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    assert Store(url).mine_ids() == ["M1", "M3"]
    rej = pd.read_csv(rejects, encoding="utf-8-sig")
    assert set(zip(rej["table"], rej["id"], strict=True)) == {("sites", "S2"), ("mines", "M2")}
    assert rej.loc[rej["id"] == "S2", "reason"].iloc[0] == 'slope_deg: "steep" is not a number'


def test_stdin_csv(tmp_path):
    url, _ = _db(tmp_path)
    res = runner.invoke(
        app, ["mines", "import", "-", "--db", url, "--crs", "EPSG:4547"], input=HEAD + _row("S1")
    )
    assert res.exit_code == 0, res.output
    assert Store(url).mine_ids() == ["M1"]


def test_existing_ids_exit_2(seeded, tmp_path):
    """--mode add (the default): a stored id is an error naming the file, the row and the id."""
    url, path = seeded
    before = _sha(path)
    again = tmp_path / "again.csv"
    again.write_text(HEAD + _row("S0", "M0", dx=5000), "utf-8")
    res = _invoke("mines", "import", str(again), "--db", url, "--crs", "EPSG:4547")
    assert res.exit_code == 2
    # the mine row repeats M0 as stored: the parent, not an error; the site is one
    assert " ".join(res.output.split()) == (
        f"error: {again}, row 1, column \"site_id\": site 'S0' is already in the store (use "
        "--mode upsert to update it)"
    )
    assert _sha(path) == before


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv", "xlsx"])
def test_export_import_round_trip(fixture_files, tmp_path, fmt):
    url1, _ = _db(tmp_path)
    res = _invoke(
        "mines",
        "import",
        str(fixture_files["gpkg"]),
        str(fixture_files["xlsx"]),
        "--db",
        url1,
        "--lonlat-wgs84",
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / f"export.{fmt}"
    res = _invoke("mines", "export", "--format", fmt, "--out", str(out), "--db", url1)
    assert res.exit_code == 0, res.output
    files = json.loads(res.stdout)["files"]
    url2 = f"sqlite:///{tmp_path / 'second.db'}"
    res = _invoke("mines", "import", *files, "--db", url2)
    assert res.exit_code == 0, res.output
    first, second = Store(url1).load_register(), Store(url2).load_register()
    assert register_differences(first, second) == []
    assert len(second.sites) == 4 and len(second.samples) == 4 and len(second.hazards) == 2


def test_list_and_show(fixture_files, tmp_path):
    url, _ = _db(tmp_path)
    res = _invoke(
        "mines",
        "import",
        str(fixture_files["geojson"]),
        str(fixture_files["xlsx"]),
        "--db",
        url,
        "--lonlat-wgs84",
    )
    assert res.exit_code == 0, res.output
    res = _invoke("mines", "list", "--db", url, "--format", "json")
    rows = {r["id"]: r for r in json.loads(res.stdout)}
    # M1: S1 300 m × 200 m + S2 250 m × 250 m = 60 000 + 62 500 m² = 12.25 hm² = 183.75 亩
    assert rows["M1"]["sites"] == 2
    assert rows["M1"]["area_hm2"] == pytest.approx(12.25, rel=1e-3)
    assert rows["M1"]["area_mu"] == pytest.approx(183.75, rel=1e-3)
    assert rows["M1"]["party"] == "absent" and rows["M2"]["party"] == "某煤业有限公司"
    res = _invoke("mines", "show", "M1", "--db", url, "--format", "json")
    shown = json.loads(res.stdout)
    assert shown["mine"]["name"] == "铅锌矿甲"
    assert {s["site_id"] for s in shown["sites"]} == {"S1", "S2"}
    assert shown["sites"][0]["geometry"]["type"] == "Polygon"
    assert {s["sample_id"] for s in shown["samples"]} == {"P1", "P2"}
    assert [h["hazard_id"] for h in shown["hazards"]] == ["H1"]
    res = _invoke("mines", "show", "M9", "--db", url)
    assert res.exit_code == 2 and "M9" in res.output
    res = _invoke(
        "mines", "export", "-f", "csv", "--out", str(tmp_path / "no" / "x.csv"), "--db", url
    )
    # a missing folder for --out is created (issue 12, item 8)
    assert res.exit_code == 0 and (tmp_path / "no" / "x.csv").is_file()
    res = _invoke("mines", "list", "--db", url, "--format", "csv")
    assert (
        res.stdout.splitlines()[0] == "id,name,region,mineral,status,party,sites,area_hm2,area_mu"
    )


@pytest.mark.postgres
def test_postgres_import_is_atomic_and_round_trips(fixture_files, tmp_path, pg_url):
    res = _invoke(
        "mines",
        "import",
        str(fixture_files["gpkg"]),
        str(fixture_files["xlsx"]),
        "--db",
        pg_url,
        "--lonlat-wgs84",
    )
    assert res.exit_code == 0, res.output
    before = Store(pg_url).counts()
    bad = tmp_path / "bad.csv"
    bad.write_text(HEAD + _row("S9", "M9") + _row("S8", "M8", dx=300, slope="steep"), "utf-8")
    res = _invoke("mines", "import", str(bad), "--db", pg_url, "--crs", "EPSG:4547")
    assert res.exit_code == 2 and 'row 2, column "slope_deg"' in " ".join(res.output.split())
    assert Store(pg_url).counts() == before  # the good row M9 was not written either
    out = tmp_path / "pg.gpkg"
    res = _invoke("mines", "export", "--format", "gpkg", "--out", str(out), "--db", pg_url)
    assert res.exit_code == 0, res.output
    url2, _ = _db(tmp_path)
    assert _invoke("mines", "import", str(out), "--db", url2).exit_code == 0
    assert register_differences(Store(pg_url).load_register(), Store(url2).load_register()) == []


# -- keeping the register up to date (issue 12, item 1) ------------------------------------

GBK_SAMPLES = "样品编号,矿山编号,图斑编号,pH,土地利用,镉,铅\nQ1,M0,S0,5.8,水田,0.45,<10\nQ2,M0,,6.2,旱地,0.2,35\n"


def _json(*args: str) -> dict:
    res = _invoke(*args, "--format", "json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _audit_rows(url: str) -> int:
    with Store(url) as store, store.engine.connect() as conn:
        return conn.exec_driver_sql(f"SELECT count(*) FROM {audit.name}").scalar_one()


def test_gbk_samples_of_a_mine_already_in_the_store(seeded, tmp_path):
    """Before: 'mine 'M0' is not in the imported files' (exit 2)."""
    url, _ = seeded
    src = tmp_path / "新样品.csv"
    src.write_bytes(GBK_SAMPLES.encode("gbk"))
    out = _json("mines", "import", str(src), "--db", url, "--user", "县局-李")
    assert out["added"] == {"mines": 0, "sites": 0, "samples": 2, "hazards": 0}
    assert out["counts"] == out["added"] and out["updated"] == [] and out["unchanged"] == 0
    assert out["mode"] == "add" and out["dry_run"] is False and out["change_id"] >= 1
    reg = Store(url).load_register(["M0"])
    q1 = reg.samples.set_index("sample_id").loc["Q1"]
    # 铅 <10 → ½ × 10 = 5 mg/kg, the limit kept (soil/indices/non-detect)
    assert (q1["site_id"], q1["land_use"], q1["Cd"], q1["Pb"]) == ("S0", "paddy", 0.45, 5.0)
    assert q1["Pb_detection_limit"] == 10.0
    (row,) = [r for r in Store(url).history("M0") if r["id"] == "Q1"]
    assert row["user"] == "县局-李" and row["command"] == "mines import"
    assert row["files"] == [
        {"path": str(src), "sha256": hashlib.sha256(src.read_bytes()).hexdigest()}
    ]
    # a sample naming a site of another mine, or no known mine, is refused as before
    bad = tmp_path / "bad.csv"
    bad.write_text("sample_id,mine_id,ph,land_use\nQ9,NOPE,6,paddy\n", "utf-8")
    res = _invoke("mines", "import", str(bad), "--db", url)
    assert res.exit_code == 2
    assert "mine 'NOPE' is neither in the imported files nor in the store" in res.output


def test_upsert_shows_the_diff(seeded, tmp_path):
    url, path = seeded
    edited = tmp_path / "edited.csv"
    # S0's slope 20 → 32.5; the same mine; a new site S5 of M0
    edited.write_text(
        HEAD + _row("S0", "M0", dx=5000, slope="32.5") + _row("S5", "M0", dx=5200), "utf-8"
    )
    args = ["mines", "import", str(edited), "--db", url, "--crs", "EPSG:4547", "--mode", "upsert"]
    res = _invoke(*args, "--dry-run")
    assert res.exit_code == 0, res.output
    assert "Dry run, nothing written" in res.stdout
    assert "sites S0  slope_deg: 20.0 → 32.5" in res.stdout
    assert _sha(path) == _sha(path)
    before = _sha(path)
    dry = _json(*args, "--dry-run")
    assert _sha(path) == before  # the store byte for byte as it was
    assert dry["dry_run"] is True and dry["change_id"] is None
    expected = {
        "added": {"mines": 0, "sites": 1, "samples": 0, "hazards": 0},
        "updated": [{"table": "sites", "id": "S0", "changes": {"slope_deg": [20.0, 32.5]}}],
        "unchanged": 1,  # the mine M0
    }
    assert {k: dry[k] for k in expected} == expected
    res = _invoke(*args)
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert "sites S0  slope_deg: 20.0 → 32.5" in lines
    assert Store(url).load_register().sites["slope_deg"].tolist() == [32.5, 20.0]
    again = _json(*args)
    assert again["updated"] == [] and again["unchanged"] == 3 and again["change_id"] is None


def test_dry_run_does_not_create_a_store(tmp_path):
    src = tmp_path / "sites.csv"
    src.write_text(HEAD + _row("S1"), "utf-8")
    db = tmp_path / "new" / "r.db"
    out = _json(
        "mines", "import", str(src), "--db", f"sqlite:///{db}", "--crs", "EPSG:4547", "--dry-run"
    )
    assert out["added"]["sites"] == 1 and out["dry_run"] is True
    assert not db.exists() and not db.parent.exists()


def test_update_delete_restore_history(seeded, tmp_path):
    url, path = seeded
    src = tmp_path / "s.csv"
    src.write_bytes(GBK_SAMPLES.encode("gbk"))
    assert _invoke("mines", "import", str(src), "--db", url).exit_code == 0
    out = _json(
        "mines",
        "update",
        "M0",
        "--status",
        "闭坑",
        "--responsible-party",
        "某公司",
        "--closure-year",
        "2019",
        "--db",
        url,
        "--user",
        "王五",
    )
    assert out["updated"] == [
        {
            "table": "mines",
            "id": "M0",
            "changes": {
                "status": ["abandoned", "closed"],
                "responsible_party": ["absent", "某公司"],
                "closure_year": [None, 2019],
            },
        }
    ]
    before = _sha(path)
    res = _invoke(
        "mines", "update", "M0", "--status", "gold", "--closure-year", "19.5", "--db", url
    )
    assert res.exit_code == 2
    message = " ".join(res.output.split())
    assert '--status: "gold" is not a known status' in message
    assert '--closure-year: "19.5" is not a whole number' in message
    assert _invoke("mines", "update", "M0", "--db", url).exit_code == 2  # nothing to change
    assert _sha(path) == before
    # delete: refused while M0 has a site and samples, named
    res = _invoke("mines", "delete", "M0", "--reason", "并入M1", "--db", url)
    assert res.exit_code == 2
    assert "mine 'M0' has 1 site (S0) and 2 samples (Q1, Q2)" in " ".join(res.output.split())
    assert _sha(path) == before
    out = _json("mines", "delete", "M0", "--reason", "并入M1", "--cascade", "--db", url)
    assert out["deleted"] == {
        "mines": ["M0"],
        "sites": ["S0"],
        "samples": ["Q1", "Q2"],
        "hazards": [],
    }
    assert _json("mines", "list", "--db", url) == []
    listed = _json("mines", "list", "--db", url, "--include-deleted")
    assert [(r["id"], r["deleted_reason"]) for r in listed] == [("M0", "并入M1")]
    res = _invoke("mines", "show", "M0", "--db", url)
    assert res.exit_code == 2 and "was deleted on" in res.output and "并入M1" in res.output
    shown = _json("mines", "show", "M0", "--db", url, "--include-deleted")
    assert shown["mine"]["deleted_reason"] == "并入M1" and len(shown["samples"]) == 2
    res = _invoke(
        "mines", "export", "--format", "csv", "--out", str(tmp_path / "x.csv"), "--db", url
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["counts"] == {"mines": 0, "sites": 0, "samples": 0, "hazards": 0}
    out = _json("mines", "restore", "M0", "--db", url)
    assert out["restored"]["samples"] == ["Q1", "Q2"]
    assert [r["id"] for r in _json("mines", "list", "--db", url)] == ["M0"]
    history = _json("mines", "history", "M0", "--db", url)
    assert [(h["action"], h["table"], h["id"]) for h in history] == [
        ("insert", "mines", "M0"),
        ("insert", "sites", "S0"),
        ("insert", "samples", "Q1"),
        ("insert", "samples", "Q2"),
        ("update", "mines", "M0"),
        ("delete", "sites", "S0"),
        ("delete", "samples", "Q1"),
        ("delete", "samples", "Q2"),
        ("delete", "mines", "M0"),
        ("restore", "mines", "M0"),
        ("restore", "sites", "S0"),
        ("restore", "samples", "Q1"),
        ("restore", "samples", "Q2"),
    ]
    update = history[4]
    assert update["user"] == "王五" and update["command"] == "mines update"
    assert update["before"] == {
        "status": "abandoned",
        "responsible_party": "absent",
        "closure_year": None,
    }
    assert update["after"] == {
        "status": "closed",
        "responsible_party": "某公司",
        "closure_year": 2019,
    }
    res = _invoke("mines", "history", "M0", "--db", url)
    assert res.exit_code == 0 and "status: abandoned → closed" in " ".join(res.stdout.split())
    res = _invoke("mines", "history", "NOPE", "--db", url)
    assert res.exit_code == 2 and "'NOPE' has no history" in res.output


def test_a_failed_import_leaves_no_audit_row(seeded, tmp_path):
    url, path = seeded
    n = _audit_rows(url)
    before = _sha(path)
    bad = tmp_path / "bad.csv"
    bad.write_text(HEAD + _row("S8", "M8") + _row("S9", "M9", dx=300, slope="steep"), "utf-8")
    assert _invoke("mines", "import", str(bad), "--db", url, "--crs", "EPSG:4547").exit_code == 2
    assert _sha(path) == before and _audit_rows(url) == n


@pytest.mark.postgres
def test_postgres_upsert_dry_run_and_delete(tmp_path, pg_url):
    first = tmp_path / "first.csv"
    first.write_text(HEAD + _row("S1", "M1") + _row("S2", "M2", dx=300), "utf-8")
    assert (
        _invoke("mines", "import", str(first), "--db", pg_url, "--crs", "EPSG:4547").exit_code == 0
    )
    edited = tmp_path / "edited.csv"
    edited.write_text(HEAD + _row("S1", "M1", slope="30") + _row("S2", "M2", dx=300), "utf-8")
    args = [
        "mines",
        "import",
        str(edited),
        "--db",
        pg_url,
        "--crs",
        "EPSG:4547",
        "--mode",
        "upsert",
    ]
    n = _audit_rows(pg_url)
    dry = _json(*args, "--dry-run")
    assert dry["updated"] == [
        {"table": "sites", "id": "S1", "changes": {"slope_deg": [20.0, 30.0]}}
    ]
    assert _audit_rows(pg_url) == n and Store(pg_url).load_register().sites[
        "slope_deg"
    ].tolist() == [20.0, 20.0]
    real = _json(*args)
    assert real["updated"] == dry["updated"] and real["change_id"] is not None
    assert _audit_rows(pg_url) == n + 1
    out = _json("mines", "delete", "M2", "--reason", "重复", "--cascade", "--db", pg_url)
    assert out["deleted"]["sites"] == ["S2"]
    assert [r["id"] for r in _json("mines", "list", "--db", pg_url)] == ["M1"]


def test_a_deleted_mine_leaves_the_ranking_and_the_export(seeded, tmp_path):
    url, _ = seeded
    more = tmp_path / "more.csv"
    more.write_text(HEAD + _row("S1", "M1"), "utf-8")
    assert _invoke("mines", "import", str(more), "--db", url, "--crs", "EPSG:4547").exit_code == 0
    ranked = _json("mines", "rank", "--db", url)
    assert sorted(r["mine_id"] for r in ranked["ranking"]) == ["M0", "M1"]
    assert (
        _invoke("mines", "delete", "M1", "--reason", "重复", "--cascade", "--db", url).exit_code
        == 0
    )
    assert [r["mine_id"] for r in _json("mines", "rank", "--db", url)["ranking"]] == ["M0"]
    res = _invoke(
        "mines", "export", "--format", "csv", "--out", str(tmp_path / "x.csv"), "--db", url
    )
    assert json.loads(res.stdout)["counts"]["sites"] == 1
    assert pd.read_csv(tmp_path / "x.csv", encoding="utf-8-sig")["site_id"].tolist() == ["S0"]


def test_upsert_of_a_gis_layer_moves_the_samples_points(fixture_files, tmp_path):
    """A GeoPackage's samples have their points in the geometry, not in lon/lat columns."""
    import geopandas as gpd

    url, _ = _db(tmp_path)
    files = [str(fixture_files["gpkg"]), str(fixture_files["xlsx"])]
    assert _invoke("mines", "import", *files, "--db", url, "--lonlat-wgs84").exit_code == 0
    out = tmp_path / "register.gpkg"
    assert _invoke("mines", "export", "-f", "gpkg", "--out", str(out), "--db", url).exit_code == 0
    samples = gpd.read_file(out, layer="samples")
    assert "lon" not in samples.columns  # the points are the layer's geometry
    p1 = samples["sample_id"] == "P1"
    samples.loc[p1, "geometry"] = shapely.Point(114.002, 29.998)
    samples.to_file(out, layer="samples", driver="GPKG")
    res = _invoke("mines", "import", str(out), "--db", url, "--mode", "upsert", "--format", "json")
    assert res.exit_code == 0, res.output
    (update,) = json.loads(res.stdout)["updated"]
    assert update["table"] == "samples" and update["id"] == "P1"
    assert update["changes"]["lon"][1] == 114.002 and update["changes"]["lat"][1] == 29.998
