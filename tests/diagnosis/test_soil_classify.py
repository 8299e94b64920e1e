"""Soil classification against GB 15618-2018: hand-worked cases, indices and invariants.

Expected classes are worked by hand from GB 15618-2018 Tables 1 and 3 (values quoted in the
comments); "at" a threshold does not exceed it (the standard's "≤ screening value").
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.diagnosis import soil

ON = "2024-01-01"
PP, SU, SC = "priority_protection", "safe_utilization", "strict_control"

# (pollutant, land use, pH, concentration [mg/kg], expected class)
HAND_CASES = [
    # Cd, paddy. Band ≤5.5: S 0.3, I 1.5. The edge pH 5.5 belongs to this band.
    ("Cd", "paddy", 5.5, 0.29, PP),
    ("Cd", "paddy", 5.5, 0.30, PP),  # at S
    ("Cd", "paddy", 5.5, 0.31, SU),
    ("Cd", "paddy", 5.5, 1.50, SU),  # at I
    ("Cd", "paddy", 5.5, 1.51, SC),
    ("Cd", "paddy", 4.0, 0.31, SU),
    # band (5.5, 6.5]: S 0.4, I 2.0; 5.51 is in it, and so is the edge 6.5
    ("Cd", "paddy", 5.51, 0.31, PP),  # 0.31 ≤ 0.4 once above pH 5.5
    ("Cd", "paddy", 6.5, 0.40, PP),
    ("Cd", "paddy", 6.5, 0.41, SU),
    ("Cd", "paddy", 6.5, 2.00, SU),
    ("Cd", "paddy", 6.5, 2.01, SC),
    # band (6.5, 7.5]: S 0.6, I 3.0
    ("Cd", "paddy", 6.51, 0.41, PP),
    ("Cd", "paddy", 7.5, 0.60, PP),
    ("Cd", "paddy", 7.5, 0.61, SU),
    ("Cd", "paddy", 7.5, 3.00, SU),
    ("Cd", "paddy", 7.5, 3.01, SC),
    # band > 7.5: S 0.8, I 4.0
    ("Cd", "paddy", 7.51, 0.61, PP),
    ("Cd", "paddy", 7.51, 0.80, PP),
    ("Cd", "paddy", 7.51, 0.81, SU),
    ("Cd", "paddy", 7.51, 4.00, SU),
    ("Cd", "paddy", 7.51, 4.01, SC),
    # Cd on other land: S 0.3 up to pH 7.5, then 0.6; orchards follow the "other" row
    ("Cd", "other", 7.0, 0.35, SU),  # paddy at pH 7 would be 0.6 -> PP
    ("Cd", "paddy", 7.0, 0.35, PP),
    ("Cd", "orchard", 7.0, 0.35, SU),
    ("Cd", "other", 7.5, 0.30, PP),
    ("Cd", "other", 7.51, 0.59, PP),
    # Hg other: S 1.3 / 1.8 / 2.4 / 3.4; I 2.0 / 2.5 / 4.0 / 6.0
    ("Hg", "other", 5.5, 1.31, SU),
    ("Hg", "other", 5.5, 2.01, SC),
    ("Hg", "other", 6.0, 1.80, PP),
    ("Hg", "other", 8.0, 3.40, PP),
    ("Hg", "other", 8.0, 6.00, SU),
    ("Hg", "other", 8.0, 6.01, SC),
    ("Hg", "paddy", 8.0, 1.01, SU),  # paddy S 1.0 above pH 7.5
    # As: screening falls as pH rises (paddy 30, 30, 25, 20; other 40, 40, 30, 25)
    ("As", "paddy", 5.5, 30.0, PP),
    ("As", "paddy", 7.0, 26.0, SU),
    ("As", "paddy", 7.51, 20.5, SU),
    ("As", "other", 5.0, 35.0, PP),
    ("As", "paddy", 5.0, 35.0, SU),
    ("As", "other", 7.6, 100.0, SU),  # I 100 above pH 7.5: at I
    ("As", "other", 7.6, 100.1, SC),
    ("As", "other", 5.0, 200.1, SC),  # I 200 at pH ≤ 5.5
    # Pb paddy 80/100/140/240, other 70/90/120/170; I 400/500/700/1000
    ("Pb", "paddy", 6.5, 100.0, PP),
    ("Pb", "other", 6.5, 100.0, SU),
    ("Pb", "other", 7.5, 700.0, SU),
    ("Pb", "other", 7.5, 700.5, SC),
    # Cr paddy 250/250/300/350, other 150/150/200/250; I 800/850/1000/1300
    ("Cr", "paddy", 6.0, 250.0, PP),
    ("Cr", "other", 6.0, 250.0, SU),
    ("Cr", "orchard", 9.0, 250.0, PP),
    ("Cr", "orchard", 9.0, 1300.1, SC),
    # Cu: orchard 150/150/200/200, other (incl. paddy) 50/50/100/100; no intervention value
    ("Cu", "orchard", 6.0, 120.0, PP),
    ("Cu", "paddy", 6.0, 120.0, SU),
    ("Cu", "other", 7.0, 100.0, PP),
    ("Cu", "paddy", 7.0, 1.0e5, SU),  # no intervention value: never strict control
    # Ni 60/70/100/190 and Zn 200/200/250/300 for all land
    ("Ni", "paddy", 5.5, 60.0, PP),
    ("Ni", "orchard", 5.6, 60.5, PP),
    ("Ni", "other", 7.6, 190.5, SU),
    ("Ni", "other", 7.6, 1.0e5, SU),
    ("Zn", "paddy", 7.5, 250.0, PP),
    ("Zn", "orchard", 7.5, 250.1, SU),
    ("Zn", "other", 8.0, 1.0e5, SU),
]


@pytest.mark.parametrize(("pollutant", "land", "ph", "conc", "expected"), HAND_CASES)
def test_hand_worked_cases(pollutant, land, ph, conc, expected):
    a = soil.classify([[conc]], [pollutant], [land], [ph], on=ON)
    assert a.class_names()[0] == expected


def test_hand_worked_cases_vectorised_in_one_call():
    """The same cases in one N x 8 array give the same classes (lookups, not loops)."""
    pollutants = ["Cd", "Hg", "As", "Pb", "Cr", "Cu", "Ni", "Zn"]
    conc = np.full((len(HAND_CASES), 8), np.nan)
    for r, (p, _, _, c, _) in enumerate(HAND_CASES):
        conc[r, pollutants.index(p)] = c
    a = soil.classify(
        conc,
        pollutants,
        [c[1] for c in HAND_CASES],
        [c[2] for c in HAND_CASES],
        on=ON,
    )
    assert a.class_names().tolist() == [c[4] for c in HAND_CASES]


def test_class_is_the_worst_factor_and_rules_name_the_deciders():
    # pH 6 paddy: Cd S 0.4 I 2.0; Pb S 100 I 500; Cu S 50 (no I).
    a = soil.classify([[0.5, 600.0, 60.0]], ["Cd", "Pb", "Cu"], ["paddy"], [6.0], on=ON)
    assert a.factor_class[0].tolist() == [1, 2, 1]
    assert a.class_names()[0] == SC
    rec = soil.to_records(a, ["S1"])[0]
    assert rec["class"] == SC
    assert rec["rules"][:1] == ["SOIL-GB15618-PB-INTERVENE"]
    assert rec["factors"]["Cd"]["rule"] == "SOIL-GB15618-CD-SCREEN"
    assert rec["factors"]["Cu"]["intervention"] is None
    # P = C/S: 0.5/0.4 = 1.25; 600/100 = 6; 60/50 = 1.2
    assert [rec["factors"][p]["index"] for p in ("Cd", "Pb", "Cu")] == pytest.approx(
        [1.25, 6.0, 1.2]
    )
    assert [rec["factors"][p]["grade"] for p in ("Cd", "Pb", "Cu")] == [
        "light",
        "heavy",
        "light",
    ]
    # Nemerow: mean (1.25 + 6 + 1.2)/3 = 2.816667, max 6:
    # sqrt((2.816667**2 + 36) / 2) = sqrt((7.933611 + 36)/2) = sqrt(21.966806) = 4.686876
    assert rec["nemerow"] == pytest.approx(4.686876, abs=1e-6)
    assert rec["nemerow_grade"] == "heavy"
    assert {t["name"] for t in rec["tables_used"]} >= {
        "soil/gb15618-2018/screening",
        "soil/gb15618-2018/intervention",
        "soil/gb15618-2018/ph-bands",
        "soil/indices/nemerow-grades",
    }


def test_nemerow_hand_values_and_missing_metals():
    # [0.5, 2.0]: mean 1.25, max 2 -> sqrt((1.5625 + 4)/2) = sqrt(2.78125) = 1.667708
    # [NaN, 0.6]: only one measured -> sqrt((0.36 + 0.36)/2) = 0.6
    # all NaN -> NaN
    pn = soil.nemerow_index([[0.5, 2.0], [np.nan, 0.6], [np.nan, np.nan]])
    assert pn[0] == pytest.approx(math.sqrt(2.78125))
    assert pn[1] == pytest.approx(0.6)
    assert np.isnan(pn[2])


def test_missing_values_are_left_out():
    # Cd not measured; Hg 0.6 on paddy at pH 6 (S 0.5) -> SU from Hg alone
    a = soil.classify([[np.nan, 0.6]], ["Cd", "Hg"], ["paddy"], [6.0], on=ON)
    assert a.factor_class[0].tolist() == [-1, 1]
    assert a.class_names()[0] == SU
    rec = soil.to_records(a, ["S"])[0]
    assert rec["factors"]["Cd"]["value"] is None and rec["factors"]["Cd"]["class"] is None
    assert rec["nemerow"] == pytest.approx(1.2)  # P = 0.6/0.5, one factor


def test_bad_domain_inputs_raise_input_errors():
    from restora.errors import InputError

    with pytest.raises(InputError, match="outside 0-14"):
        soil.classify([[0.1]], ["Cd"], ["paddy"], [14.5], on=ON)
    with pytest.raises(InputError, match="negative"):
        soil.classify([[-0.1]], ["Cd"], ["paddy"], [6.0], on=ON)
    with pytest.raises(InputError, match="no value in GB 15618"):
        soil.classify([[0.1]], ["Sb"], ["paddy"], [6.0], on=ON)
    with pytest.raises(InputError, match="land use 'forest'"):
        soil.classify([[0.1]], ["Cd"], ["forest"], [6.0], on=ON)
    with pytest.raises(InputError, match="needs the soil pH"):
        soil.classify([[0.1]], ["Cd"], ["paddy"], None, on=ON)
    with pytest.raises(InputError, match="unknown standard"):
        soil.load_standard("gb99999")


def test_million_samples_classify_quickly():
    rng = np.random.default_rng(1)
    n = 1_000_000
    conc = rng.uniform(0, 3, (n, 8)) * [1, 1, 30, 90, 150, 50, 60, 200]
    land = rng.choice(np.array(["paddy", "orchard", "other"], dtype=object), n)
    ph = rng.uniform(4, 9, n)
    values = soil.load_standard("gb15618", on=ON)
    import time

    t0 = time.perf_counter()
    a = soil.classify(conc, values.pollutants, land, ph, values=values, on=ON)
    elapsed = time.perf_counter() - t0
    assert a.sample_class.shape == (n,)
    assert elapsed < 20.0  # typically ~1-2 s on the shared 2-core machine


# ---- GB 36600 ---------------------------------------------------------------------------


def test_gb36600_land_classes():
    # As: class 1 S 20 I 120; class 2 S 60 I 140. Cr6: class 1 S 3.0 I 30; class 2 S 5.7 I 78.
    conc = [[20.0, 3.0], [21.0, 2.0], [61.0, 5.7], [130.0, 1.0], [130.0, 1.0], [1.0, 78.1]]
    land = [1, 1, 2, 1, 2, 2]
    a = soil.classify(conc, ["As", "Cr6"], land, standard="gb36600", on=ON)
    assert a.class_names().tolist() == [PP, SU, SU, SC, SU, SC]
    rec = soil.to_records(a, list("abcdef"))
    assert rec[3]["rules"][0] == "SOIL-GB36600-AS-INTERVENE"
    assert rec[5]["rules"][0] == "SOIL-GB36600-CR6-INTERVENE"
    assert rec[0]["ph_band"] is None and rec[0]["land"] == "1"


def test_regional_background_replaces_screening(tmp_path, monkeypatch):
    from restora import refdata

    d = tmp_path / "tables" / "soil"
    d.mkdir(parents=True)
    (d / "background.yaml").write_text(
        "title: test background\nsource: test fixture\nunit: mg/kg\nversions:\n"
        "  - valid_from: 2020-01-01\n    region: '430000'\n    version: hunan-test\n"
        "    data: [{pollutant: As, value: 50}, {pollutant: Cd, value: 1}]\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("RESTORA_REFDATA_PATH", str(tmp_path / "tables"))
    refdata.reload()
    try:
        # As 40 on class 1 land: national S 20 -> SU; Hunan background 50 > 20 replaces it -> PP
        nat = soil.classify([[40.0, 5.0]], ["As", "Cd"], [1], standard="gb36600", on=ON)
        hun = soil.classify(
            [[40.0, 5.0]], ["As", "Cd"], [1], standard="gb36600", on=ON, region="430521"
        )
        assert nat.class_names()[0] == SU
        assert hun.class_names()[0] == PP
        assert hun.screening[0].tolist() == [50.0, 20.0]  # Cd background 1 < 20: no effect
        rec = soil.to_records(hun, ["x"])[0]
        assert "SOIL-GB36600-AS-BACKGROUND" in rec["rules"]
        assert "SOIL-GB36600-CD-BACKGROUND" not in rec["rules"]
        bg = next(t for t in rec["tables_used"] if t["name"] == "soil/background")
        assert bg["version"] == "hunan-test" and bg["region"] == "430000"
        # before the regional version was valid, the national (empty) one applies
        old = soil.classify(
            [[40.0, 5.0]], ["As", "Cd"], [1], standard="gb36600", on="2019-01-01", region="430521"
        )
        assert old.class_names()[0] == SU
    finally:
        monkeypatch.delenv("RESTORA_REFDATA_PATH")
        refdata.reload()


# ---- invariants (hypothesis) ------------------------------------------------------------

GB15618 = ("Cd", "Hg", "As", "Pb", "Cr", "Cu", "Ni", "Zn")
GB36600 = ("As", "Cd", "Cr6", "Cu", "Pb", "Hg", "Ni")
_VALUES: dict[str, soil.StandardValues] = {}


def _values(std: str) -> soil.StandardValues:
    if std not in _VALUES:
        _VALUES[std] = soil.load_standard(std, on=ON)
    return _VALUES[std]


conc_st = st.floats(min_value=0, max_value=5000, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    conc=st.lists(conc_st, min_size=8, max_size=8),
    ph=st.floats(min_value=0, max_value=14),
    land=st.sampled_from(["paddy", "orchard", "other"]),
    which=st.integers(0, 7),
    factor=st.floats(min_value=1.0, max_value=1000.0),
    extra=st.floats(min_value=0.0, max_value=100.0),
)
def test_raising_a_concentration_never_lowers_the_class_gb15618(
    conc, ph, land, which, factor, extra
):
    before = np.array([conc])
    after = before.copy()
    after[0, which] = after[0, which] * factor + extra
    v = _values("gb15618")
    a0 = soil.classify(before, GB15618, [land], [ph], values=v, on=ON)
    a1 = soil.classify(after, GB15618, [land], [ph], values=v, on=ON)
    assert a1.sample_class[0] >= a0.sample_class[0]
    assert a1.factor_class[0, which] >= a0.factor_class[0, which]
    assert a1.nemerow[0] >= a0.nemerow[0] - 1e-12
    assert a1.nemerow_grade[0] >= a0.nemerow_grade[0]


@settings(max_examples=200, deadline=None)
@given(
    conc=st.lists(conc_st, min_size=7, max_size=7),
    land=st.sampled_from([1, 2]),
    which=st.integers(0, 6),
    extra=st.floats(min_value=0.0, max_value=1e5),
)
def test_raising_a_concentration_never_lowers_the_class_gb36600(conc, land, which, extra):
    before = np.array([conc])
    after = before.copy()
    after[0, which] += extra
    v = _values("gb36600")
    a0 = soil.classify(before, GB36600, [land], values=v, on=ON)
    a1 = soil.classify(after, GB36600, [land], values=v, on=ON)
    assert a1.sample_class[0] >= a0.sample_class[0]


@settings(max_examples=200, deadline=None)
@given(conc=st.lists(conc_st, min_size=7, max_size=7))
def test_class_1_land_is_never_judged_more_leniently_than_class_2(conc):
    v = _values("gb36600")
    a = soil.classify([conc, conc], GB36600, [1, 2], values=v, on=ON)
    assert a.sample_class[0] >= a.sample_class[1]


@settings(max_examples=150, deadline=None)
@given(
    cd=st.floats(min_value=0, max_value=10, allow_nan=False),
    ph_high=st.floats(min_value=0, max_value=14),
    drop=st.floats(min_value=0, max_value=14),
)
def test_lowering_ph_never_lowers_the_class_of_cd_on_paddy(cd, ph_high, drop):
    ph_low = max(0.0, ph_high - drop)
    v = _values("gb15618")
    a = soil.classify([[cd], [cd]], ["Cd"], ["paddy", "paddy"], [ph_high, ph_low], values=v)
    assert a.sample_class[1] >= a.sample_class[0]
