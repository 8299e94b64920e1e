"""``diagnose soil|zones|hazards|suitability`` read the store (``--mine`` / ``--all``) or files.

Issue 12 item 2: the demo county's files are imported into a SQLite store, and each command
run on the files and on the store must give the same JSON. Before, ``diagnose soil`` and
``diagnose hazards|suitability`` had no ``--mine``/``--all`` (hazards and suitability read the
whole store when no file was given, zones one mine of the default store only, ignoring
``--db``), so every test here that passes ``--mine`` or ``--all`` failed on the old code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from restora.cli import app

runner = CliRunner()
ON = "2026-01-01"
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-county"
SITES, SAMPLES, HAZARDS = (
    DEMO / "register.gpkg",
    DEMO / "soil_samples.csv",
    DEMO / "hazards.csv",
)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo county's three files imported into a SQLite store, as `mines import` does."""
    from restora.inventory.io import read_register
    from restora.store import Store

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'store.db'}"
    register, _ = read_register([SITES, SAMPLES, HAZARDS], lonlat_wgs84=True)
    with Store(url) as store:
        store.add_register(register)
    return url


def run(*args: str) -> dict | list:
    r = runner.invoke(app, ["diagnose", *args, "--on", ON, "-f", "json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


# ------------------------------------------------------------------------------------ soil


def test_soil_of_the_store_is_the_soil_of_the_file(demo_store):
    from_file = run("soil", str(SAMPLES))
    from_store = run("soil", "--all", "--db", demo_store)
    assert len(from_file) == 454
    # the store keeps samples in id order, the file in its own: the same records
    assert sorted(from_store, key=lambda r: r["sample_id"]) == sorted(
        from_file, key=lambda r: r["sample_id"]
    )
    # the file's four Hg results below detection stay below detection in the store
    censored = [r for r in from_store if r["factors"]["Hg"]["below_lod"]]
    assert len(censored) == 4
    two = run("soil", "--mine", "QS-M01", "--mine", "QS-M09", "--db", demo_store)
    assert {r["sample_id"][:6] for r in two} == {"QS-M01", "QS-M09"}
    by_id = {r["sample_id"]: r for r in from_file}
    assert all(r == by_id[r["sample_id"]] for r in two)


def test_soil_of_a_mine_keeps_its_detection_limits(tmp_path, register_frame):
    """A register sample 'As <70' on paddy at pH 5 (GB 15618-2018: screening 30, intervention
    200 mg/kg): the stated limit leaves the class open between priority protection and safe
    utilization (30 < 70 <= 200), exactly as the same row read from a file.
    """
    from restora.inventory.model import Register
    from restora.store import Store

    url = f"sqlite:///{tmp_path / 's.db'}"
    mines = register_frame(
        "mines",
        [{"mine_id": "M1", "name": "m", "region_code": "430521", "mineral": "metal",
          "status": "abandoned"}],
    )  # fmt: skip
    samples = register_frame(
        "samples",
        [
            {"sample_id": "T1", "mine_id": "M1", "ph": 5.0, "land_use": "paddy", "Cd": 0.1,
             "As": 35.0, "As_detection_limit": 70.0, "qualifiers": "As=<70"},
            {"sample_id": "T2", "mine_id": "M1", "ph": 5.0, "land_use": "paddy", "Cd": 0.1,
             "As": 12.0},
            {"sample_id": "T3", "mine_id": "M1", "ph": 7.0, "land_use": "construction",
             "As": 12.0},
        ],
    )  # fmt: skip
    empty = Register.empty()
    with Store(url) as store:
        store.add_register(Register(mines, empty.sites, samples, empty.hazards))
    got = run("soil", "--mine", "M1", "--db", url)
    # T3 is construction land: not a GB 15618 sample
    assert [r["sample_id"] for r in got] == ["T1", "T2"]
    t1, t2 = got
    assert t1["class"] == "indeterminate"
    assert t1["class_range"] == ["priority_protection", "safe_utilization"]
    assert t1["factors"]["As"]["detection_limit"] == 70.0 and t1["factors"]["As"]["below_lod"]
    assert t2["class"] == "priority_protection"
    f = tmp_path / "same.csv"
    f.write_text(
        "sample_id,ph,land_use,Cd,As\nT1,5.0,paddy,0.1,<70\nT2,5.0,paddy,0.1,12\n", "utf-8"
    )
    assert run("soil", str(f)) == got
    # GB 36600 takes the construction-land sample, with the land class given
    r = runner.invoke(app, ["diagnose", "soil", "--mine", "M1", "--db", url, "-s", "gb36600"])
    assert r.exit_code == 2 and "--land-class" in r.stderr
    (t3,) = run("soil", "--mine", "M1", "--db", url, "-s", "gb36600", "--land-class", "2")
    assert t3["sample_id"] == "T3" and t3["class"] == "priority_protection"


# ----------------------------------------------------------------------------------- zones


def test_zones_of_the_store_are_the_zones_of_the_files(demo_store):
    site = "QS-M23-S1"  # a lead-zinc mine's main site with samples
    from_files = run("zones", str(SITES), str(SAMPLES), "--layer", "sites", "--site-id", site)
    by_mine = run("zones", "--mine", "QS-M23", "--site-id", site, "--db", demo_store)
    by_all = run("zones", "--all", "--site-id", site, "--db", demo_store)
    assert from_files == by_mine == by_all
    (z,) = from_files
    assert z["site_id"] == site and z["mine_id"] == "QS-M23" and z["zones"]


def test_zones_of_several_mines_in_site_order(demo_store):
    got = run("zones", "--mine", "QS-M30", "--mine", "QS-M29", "--db", demo_store)
    ids = [z["site_id"] for z in got]
    assert ids == sorted(ids) and {i[:6] for i in ids} == {"QS-M29", "QS-M30"}


# --------------------------------------------------------------------------------- hazards


def test_hazards_of_the_store_are_the_hazards_of_the_file(demo_store):
    from_file = run("hazards", str(HAZARDS))
    named = [m["mine_id"] for m in from_file["mines"]]
    mines = [a for m in named for a in ("--mine", m)]
    # the file's mines read from the store: the same JSON
    assert run("hazards", *mines, "--db", demo_store) == from_file
    # every mine: the same hazards, and the mines without hazards graded none
    every = run("hazards", "--all", "--db", demo_store)
    assert every["hazards"] == from_file["hazards"]
    assert len(every["mines"]) == 40
    others = [m for m in every["mines"] if m["mine_id"] not in named]
    assert others and {m["grade"] for m in others} == {"none"}


def test_hazards_use_each_mines_region_tables(demo_store, user_refdata):
    """A county table (region 430599, the demo mines' code) of the distance rule: buildings
    within 5 km raise the threat a class. From the store the mines' own region applies; the
    file knows no region, so it takes the national tables unless --region says otherwise."""
    d = user_refdata / "hazard"
    d.mkdir(parents=True)
    (d / "distance-modifier.yaml").write_text(
        "title: a county's reach\nsource: test fixture\nunit: m\nversions:\n"
        "  - valid_from: 2020-01-01\n    version: qingshan-2020\n    region: '430599'\n"
        "    data: {near_m: 5000.0, far_m: 100000.0}\n",
        encoding="utf-8",
    )
    national = run("hazards", str(HAZARDS))
    county = run("hazards", str(HAZARDS), "--region", "430599")
    store = run("hazards", "--mine", "QS-M01", "--db", demo_store)
    assert "qingshan-2020" in {t["version"] for t in store["reference_tables"]}
    assert "qingshan-2020" not in {t["version"] for t in national["reference_tables"]}
    of_m01 = [h for h in county["hazards"] if h["mine_id"] == "QS-M01"]
    assert store["hazards"] == of_m01
    assert of_m01 != [h for h in national["hazards"] if h["mine_id"] == "QS-M01"]


# ----------------------------------------------------------------------------- suitability


def test_suitability_of_the_store_is_that_of_the_files(demo_store):
    context = str(DEMO / "context.gpkg")
    from_files = run("suitability", str(SITES), "--samples", str(SAMPLES), "--context", context)
    from_store = run("suitability", "--all", "--db", demo_store, "--context", context)
    assert from_store == from_files
    assert from_files["pollution_source"] == "register samples (GB 15618-2018)"
    assert len(from_files["sites"]) == 133
    # the polygon's area, as the register computes it on import
    assert all(s["inputs"]["area_hm2"] > 0 for s in from_files["sites"])
    one = run("suitability", "--mine", "QS-M05", "--db", demo_store, "--context", context)
    by_id = {s["site_id"]: s for s in from_store["sites"]}
    assert one["sites"] and all(s == by_id[s["site_id"]] for s in one["sites"])


def test_suitability_table_lists_excluded_uses_with_excluded(demo_store):
    args = ["diagnose", "suitability", "--mine", "QS-M05", "--db", demo_store, "--on", ON]
    short = runner.invoke(app, [*args, "-f", "csv"])
    full = runner.invoke(app, [*args, "-f", "csv", "--excluded"])
    assert short.exit_code == full.exit_code == 0, short.output + full.output
    assert "excluded" not in short.stdout and ",excluded," in full.stdout


# ------------------------------------------------------------------------ bad combinations

BAD = [
    (["soil"], "nothing to read: give SAMPLES, or --mine ID"),
    (["soil", str(SAMPLES), "--mine", "QS-M01"], "not SAMPLES and --mine"),
    (["soil", "--mine", "QS-M01", "--all"], "not --mine and --all"),
    (["soil", str(SAMPLES), "--db", "sqlite:///x.db"], "--db names the store"),
    (["soil", "--mine", "QS-M99", "--mine", "NOPE"], "not in the register of the store"),
    (["zones"], "give SITES SAMPLES, or --mine ID"),
    (["zones", str(SITES)], "give both files"),
    (["zones", str(SITES), str(SAMPLES), "--all"], "not SITES and SAMPLES and --all"),
    (["zones", "--mine", "QS-M01", "--site-id", "QS-M02-S1"], "has no site 'QS-M02-S1'"),
    (["hazards"], "nothing to read: give HAZARDS"),
    (["hazards", str(HAZARDS), "--all"], "not HAZARDS and --all"),
    (["hazards", str(HAZARDS), "--hazards", str(HAZARDS)], "give the file once"),
    (["suitability"], "nothing to read: give SITES"),
    (["suitability", "--all", "--samples", str(SAMPLES)], "--samples goes with a SITES file"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_combinations_exit_2_naming_the_options(demo_store, args, message):
    r = runner.invoke(
        app, ["diagnose", *args, "--on", ON], env={"RESTORA_DATABASE_URL": demo_store}
    )
    assert r.exit_code == 2, r.output
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.output


def test_all_on_an_empty_store_exits_2(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    r = runner.invoke(app, ["diagnose", "hazards", "--all", "--db", url])
    assert r.exit_code == 2 and "holds no mines" in r.stderr
