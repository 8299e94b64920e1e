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
    url, path = seeded
    before = _sha(path)
    again = tmp_path / "again.csv"
    again.write_text(HEAD + _row("S0", "M0", dx=5000), "utf-8")
    res = _invoke("mines", "import", str(again), "--db", url, "--crs", "EPSG:4547")
    assert res.exit_code == 2 and "already in the store" in res.output
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
    assert res.exit_code == 1 and "cannot write" in res.output
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
