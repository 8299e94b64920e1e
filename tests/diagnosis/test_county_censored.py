"""Censored register samples end to end: file → store → county diagnosis → ranking → appraisal.

Issue 11, item 6. The case: As ``<70`` on paddy at pH 5. GB 15618-2018 Table 1, paddy, pH ≤ 5.5:
screening S_As = 30 mg/kg; Table 3, pH ≤ 5.5: intervention I_As = 200 mg/kg. The lab's ``<70``
says only 0 ≤ As < 70, on either side of S (70 > 30) but below I (70 ≤ 200), so the sample is
indeterminate between priority_protection and safe_utilization (SOIL-CENSORED-DL-ABOVE-SV).
Before the limits travelled through the register, the import stored only the substitute
½ × 70 = 35 mg/kg (soil/indices/non-detect), 35 > 30 made the sample safe_utilization, and every
test below failed (classes, ranking rule, suitability, appraisal JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from restora import refdata
from restora.appraisal.io import parse_project
from restora.appraisal.pipeline import appraise
from restora.diagnosis import county
from restora.diagnosis.county import diagnose_county, worst_class, worst_of
from restora.inventory.io import read_register
from restora.inventory.model import Register
from restora.modes.derive import derive_profile
from restora.store import Store

ON = "2026-12-07"
SITES_CSV = (
    "mine_id,name,region_code,mineral,status,site_id,kind,wkt,crs\n"
    'M1,砷矿,430181,metal,abandoned,S1,waste_rock_dump,"POLYGON ((112 27, 112.002 27, '
    '112.002 27.002, 112 27.002, 112 27))",EPSG:4326\n'
    'M2,煤矿,430181,coal,abandoned,S2,waste_rock_dump,"POLYGON ((112.01 27, 112.012 27, '
    '112.012 27.002, 112.01 27.002, 112.01 27))",EPSG:4326\n'
)
# T1: As "<70" (open); T2 and T3: every metal below its pH ≤ 5.5 / pH 6 screening value
SAMPLES_CSV = (
    "sample_id,mine_id,site_id,lon,lat,ph,land_use,Cd,Hg,As,Pb,Cr,Cu,Ni,Zn\n"
    "T1,M1,S1,112.0005,27.0005,5.0,paddy,0.2,0.3,<70,50,100,30,40,100\n"
    "T2,M1,S1,112.0015,27.0015,5.0,paddy,0.2,0.3,20,50,100,30,40,100\n"
    "T3,M2,S2,112.0105,27.0005,6.0,paddy,0.2,0.3,20,50,100,30,40,100\n"
)
PROJECT = {
    "project_id": "P1",
    "name": "测试项目",
    "mines": ["M1"],
    "start_year": 2027,
    "horizon_years": 3,
    "discount_rate": 0.06,
    "hurdle_rate": 0.08,
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'restora.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def stored(tmp_path: Path, db_url: str) -> Register:
    """The register read from CSV files, imported into the store and loaded back."""
    (tmp_path / "sites.csv").write_text(SITES_CSV, encoding="utf-8")
    (tmp_path / "samples.csv").write_text(SAMPLES_CSV, encoding="utf-8")
    reg, _ = read_register([tmp_path / "sites.csv", tmp_path / "samples.csv"], lonlat_wgs84=True)
    with Store(db_url) as store:
        store.add_register(reg)
        return store.load_register()


def test_screening_values_of_the_case():
    """The thresholds the docstring's arithmetic uses, read from the shipped tables."""
    from restora.diagnosis import soil

    vals = soil.load_standard("gb15618", ON, None)
    a = soil.classify([[20.0]], ["As"], ["paddy"], [5.0], values=vals)
    assert (a.screening[0, 0], a.intervention[0, 0]) == (30.0, 200.0)


def test_store_keeps_the_limit_and_the_county_classes_it_indeterminate(stored: Register):
    diag = diagnose_county(stored, {}, on=ON)
    classes = diag.sample_classes.set_index("sample_id")
    assert classes.loc["T1", "pollution_class"] == "indeterminate"  # was safe_utilization

    s = stored.samples.set_index("sample_id")
    assert s.loc["T1", "As_detection_limit"] == 70.0  # the lab's "<70", as a number
    assert s.loc["T1", "As"] == 35.0  # the substitute ½ × 70 (soil/indices/non-detect)
    assert s.loc["T1", "qualifiers"] == "As=<70"
    assert np.isnan(s.loc["T2", "As_detection_limit"])
    assert (classes.loc["T1", "pollution_class_min"], classes.loc["T1", "pollution_class_max"]) == (
        "priority_protection",
        "safe_utilization",
    )
    assert classes.loc["T1", "open_metals"] == ["As"]
    assert classes.loc["T1", "rule_codes"] == ["SOIL-CENSORED-DL-ABOVE-SV"]
    (message,) = classes.loc["T1", "messages"]
    assert "re-analyse with a method whose detection limit is below 30 mg/kg" in message
    assert classes.loc["T2", "pollution_class"] == "priority_protection"
    assert classes["pollution_class"].value_counts().to_dict() == {
        "priority_protection": 2,
        "indeterminate": 1,
    }
    assert "SOIL-CENSORED-DL-ABOVE-SV" in diag.rule_codes


def test_mine_with_an_open_sample_and_clean_ones_is_not_clean_and_ranks_on_its_worst(
    stored: Register,
):
    diag = diagnose_county(stored, {}, on=ON)
    ranking = diag.ranking.ranking.set_index("mine_id")
    # M1: T1 ∈ [priority_protection, safe_utilization], T2 priority_protection
    #   → [max(0, 0), max(1, 0)] = [0, 1]: indeterminate (never "clean")
    assert ranking.loc["M1", "pollution_class"] == "indeterminate"
    assert ranking.loc["M1", "pollution_class_max"] == "safe_utilization"
    assert ranking.loc["M2", "pollution_class"] == "priority_protection"
    # the ranking's indicator: the level of the worst class it may be (priority/level-scores:
    # safe_utilization 1, priority_protection 0)
    scores = refdata.get("priority/level-scores", on=ON).data["pollution_level"]
    assert ranking.loc["M1", "pollution_level"] == scores["safe_utilization"] == 1
    assert ranking.loc["M2", "pollution_level"] == scores["priority_protection"] == 0
    assert county.RULE_RANK_INDETERMINATE in diag.ranking.rule_codes
    (m1,) = [r for r in diag.ranking.reasons() if r["mine_id"] == "M1"]
    assert "soil indeterminate" in m1["reasons"][2] and "safe_utilization" in m1["reasons"][2]


def test_indeterminate_site_is_never_planned_as_farmland(stored: Register):
    diag = diagnose_county(stored, {}, on=ON)
    s1 = diag.suitability[diag.suitability["site_id"] == "S1"].set_index("use")
    assert diag.site_inputs.set_index("site_id").loc["S1", "pollution_class"] == "indeterminate"
    for use in ("cultivated", "garden"):
        assert s1.loc[use, "status"] == "excluded"
        assert "SUIT-POLL-INDETERMINATE" in s1.loc[use, "rule_codes"]
    assert s1.loc["forest", "status"] == "suitable"
    assert diag.best_use["S1"] != "cultivated"
    # the clean site next door keeps farming first
    assert diag.best_use["S2"] == "cultivated"


def test_appraisal_diagnosis_stage_says_indeterminate(stored: Register):
    diag = diagnose_county(stored, {}, on=ON)
    doc = appraise(parse_project(PROJECT, "<test>"), stored, diag, on=ON)
    stage = json.loads(json.dumps(doc["stages"]["diagnosis"]))  # appraisal.json as written
    assert stage["sample_classes"] == {"indeterminate": 1, "priority_protection": 1}
    (open_sample,) = stage["indeterminate_samples"]
    assert open_sample["sample_id"] == "T1" and open_sample["metals"] == ["As"]
    assert open_sample["class_range"] == ["priority_protection", "safe_utilization"]
    assert open_sample["rule_codes"] == ["SOIL-CENSORED-DL-ABOVE-SV"]
    # what a report needs to say it in Chinese or English: DL 70 > S 30, ≤ I 200 [mg/kg]
    assert open_sample["results"] == [
        {"metal": "As", "detection_limit_mg_kg": 70.0, "screening_mg_kg": 30.0,
         "intervention_mg_kg": 200.0, "class_range": ["priority_protection", "safe_utilization"],
         "rule_code": "SOIL-CENSORED-DL-ABOVE-SV"}
    ]  # fmt: skip
    assert "SOIL-CENSORED-DL-ABOVE-SV" in stage["rule_codes"]
    (site,) = stage["sites"]
    assert site["pollution_class"] == "indeterminate"
    assert "cultivated" not in site["suitable_uses"]
    (mine,) = stage["mines"]
    assert mine["pollution_class"] == "indeterminate"
    # the modes stage profiles the mine at the worst class it may be (modes/profile-derivation:
    # safe_utilization → moderate) instead of refusing "indeterminate"
    assert doc["stages"]["modes"]["status"] == "assessed"


# --------------------------------------------------------------------- the worst of several
P, S, C, X = "priority_protection", "safe_utilization", "strict_control", "indeterminate"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # (class, min, max) per sample → the group's (class, min, max); hand-worked from
        # [max lows, max highs]
        ([(P, P, P), (X, P, S)], (X, P, S)),  # [0, 1]: open, never clean
        ([(S, S, S), (X, P, S)], (S, S, S)),  # [1, 1]: the open result cannot push it higher
        ([(C, C, C), (X, P, C)], (C, C, C)),  # [2, 2]
        ([(S, S, S), (X, P, C)], (X, S, C)),  # [1, 2]: open between safe use and strict control
        ([(X, P, S), (X, P, S)], (X, P, S)),
        ([(P, P, P), (P, P, P)], (P, P, P)),
        ([(S, None, None), (X, None, None)], (X, S, C)),  # a bare "indeterminate" may be any
    ],
)
def test_worst_of_takes_the_class_ranges(rows, expected):
    frame = pd.DataFrame(
        [{"mine_id": "M", "pollution_class": c, "pollution_class_min": lo,
          "pollution_class_max": hi} for c, lo, hi in rows]
    )  # fmt: skip
    got = worst_of(frame, "mine_id").iloc[0]
    assert (got["pollution_class"], got["pollution_class_min"], got["pollution_class_max"]) == (
        expected
    )


def test_worst_class_of_labels_never_drops_indeterminate():
    # before: 'indeterminate' was not in the order and was dropped → "priority_protection"
    assert worst_class(pd.Series([P, X, P])) == X
    assert worst_class(pd.Series([X, C])) == C
    assert worst_class(pd.Series([S, P])) == S
    assert worst_class(pd.Series([None, np.nan])) is None


def test_mode_profile_of_an_indeterminate_mine_is_its_worst_class(stored: Register):
    pollution = pd.DataFrame(
        {"mine_id": ["M1"], "pollution_class": [X], "pollution_class_min": [P],
         "pollution_class_max": [S]}
    )  # fmt: skip
    derived = derive_profile(stored, "M1", pollution=pollution, on=ON)
    mapping = refdata.get("modes/profile-derivation", on=ON).data["pollution_from_soil_class"]
    assert derived.profile.pollution == mapping[S] == "moderate"
    assert "indeterminate" in derived.sources["pollution"]
