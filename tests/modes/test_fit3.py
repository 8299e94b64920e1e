"""Third attempt at the mode recommender: the cases of ``restora-cases-3`` (in force from
2026-12-09).

``restora-cases-3`` did not exist before this test: on the code before it every test here fails
(no version of table ``modes/cases`` in force on 2026-12-09 beyond ``restora-cases-2``'s 48
cases, no ``revisions``). The table keeps every earlier case as it was except for corrections
declared case by case, and adds 20 cases (docs/modes.md, "Third attempt").
"""

from __future__ import annotations

from collections import Counter

import pytest

from restora import refdata
from restora.modes import fit
from restora.modes.profile import MODES, profile_fields

FITTED_ON = "2026-12-08"  # restora-fit-2, restora-cases-2
FIT3_ON = "2026-12-09"  # restora-fit-3, restora-cases-3


def _cases(on: str) -> dict[str, dict]:
    return {c["id"]: c for c in refdata.get(fit.CASES_TABLE, on=on).data["cases"]}


def test_cases_3_is_the_version_in_force_and_well_formed() -> None:
    table = refdata.get(fit.CASES_TABLE, on=FIT3_ON)
    assert table.version == "restora-cases-3"
    assert refdata.get(fit.CASES_TABLE, on=FITTED_ON).version == "restora-cases-2"
    cases = fit.load_cases(on=FIT3_ON)
    assert len(cases) == len(table.data["cases"]) == 68
    fields = set(profile_fields())
    for c in table.data["cases"]:
        src = c["source"]
        assert src["title"] and src["issuer"] and src["url"].startswith("http"), c["id"]
        assert 2000 <= int(src["year"]) <= 2026
        assert c["label"] in MODES and c["label_basis"].strip()
        assert set(c["profile"]) <= fields
        assert set(c["basis"]) == set(c["profile"]), c["id"]
        assert all(str(v).strip() for v in c["basis"].values())


def test_cases_3_changes_earlier_cases_only_as_declared() -> None:
    """Every difference between a restora-cases-2 case and its restora-cases-3 copy is a field
    listed in ``revisions`` (from → to, with a reason); label, source and label basis never
    change; a case without ``revisions`` is unchanged."""
    old, new = _cases(FITTED_ON), _cases(FIT3_ON)
    assert set(old) < set(new)
    revised = []
    for cid, c in old.items():
        n = new[cid]
        assert (n["label"], n["source"], n["label_basis"]) == (
            c["label"],
            c["source"],
            c["label_basis"],
        )
        revs = n.get("revisions", [])
        changed = {
            f
            for f in set(c["profile"]) | set(n["profile"])
            if c["profile"].get(f) != n["profile"].get(f)
        }
        assert changed == {r["field"] for r in revs}, cid
        for r in revs:
            assert c["profile"].get(r["field"]) == r["from"], (cid, r)
            assert n["profile"][r["field"]] == r["to"], (cid, r)
            assert r["reason"].strip()
        # quotes of unchanged fields stay as they were; a revised field quotes its sentence
        assert {k: v for k, v in n["basis"].items() if k not in changed} == {
            k: v for k, v in c["basis"].items() if k not in changed
        }, cid
        if revs:
            revised.append(cid)
        assert {k: v for k, v in n.items() if k != "revisions"}.keys() == c.keys()
    assert sorted(revised) == sorted(
        [
            "MNR-EPVR1-07-weihai-huaxiacheng",
            "MNR-EPVR2-tangshan-nanhu",
            "NEWS-lengshuijiang-xikuangshan",
            "NEWS-cili-dahu",
            "NEWS-shimen-realgar",
        ]
    )


def test_cases_3_adds_20_cases_with_the_stated_labels() -> None:
    old, new = _cases(FITTED_ON), _cases(FIT3_ON)
    added = Counter(new[i]["label"] for i in set(new) - set(old))
    # docs/modes.md, "Cases added": 1 rights, 5 resource, 3 safety, 11 industry
    assert added == {
        "property_rights": 1,
        "resource_utilization": 5,
        "safety_baseline": 3,
        "industry_integration": 11,
    }
    assert Counter(c["label"] for c in new.values()) == {
        "safety_baseline": 14,
        "resource_utilization": 15,
        "property_rights": 6,
        "industry_integration": 33,
    }
    assert not any("revisions" in new[i] for i in set(new) - set(old))


def test_quota_market_is_still_stated_only_for_rights_cases() -> None:
    cases = fit.load_cases(on=FIT3_ON)
    stated = [c for c in cases if c.profile.quota_market is not None]
    assert len(stated) == 5
    assert all(c.profile.quota_market is True and c.label == "property_rights" for c in stated)


@pytest.mark.parametrize("cid", ["NEWS-binchuan-shizikou", "NEWS-yongcheng-riyuehu"])
def test_added_case_profiles_read_as_stated(cid: str) -> None:
    """Two added cases by hand: areas at 15 mu = 1 hm², km² × 100 = hm²."""
    p = {c.case_id: c.profile for c in fit.load_cases(on=FIT3_ON)}[cid]
    if cid == "NEWS-binchuan-shizikou":
        # 114.3 hm² to restore; 9.8864 hm² of new paddy; at the county town's edge
        assert (p.area_hm2, p.farmland_potential_hm2, p.distance_to_city_km) == (114.3, 9.8864, 0)
        assert p.quota_market is True and p.funding_source is None
    else:
        # 3.15 km² of standing water = 315 hm²; over 20 km² of subsidence = 2000 hm²
        assert (p.water_area_hm2, p.area_hm2, p.funding_source) == (315, 2000, "mixed")
