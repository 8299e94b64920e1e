"""Results below a detection limit above the screening value are indeterminate (issue 11, item 6a).

Values from GB 15618-2018: Table 1, As on paddy land at pH <= 5.5, screening value S = 30 mg/kg;
Table 3, As at pH <= 5.5, intervention value I = 200 mg/kg; Cd on paddy at pH <= 5.5: S 0.3,
I 1.5; Pb on paddy at pH <= 5.5: S 80, I 400.

Every test here fails on the code before the fix: "<70" became 35 mg/kg (DL/2), 35 > 30, and the
sample was classed ``safe_utilization``; ``classify`` had no ``detection_limit``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from restora.cli import app
from restora.diagnosis import soil

ON = "2024-01-01"
PP, SU, SC, IND = "priority_protection", "safe_utilization", "strict_control", "indeterminate"
NAN = math.nan
runner = CliRunner()


def _paddy_ph5(conc, dl):
    """Classify rows of (As, Cd, Pb) on paddy at pH 5; ``dl`` the As detection limits."""
    conc = np.asarray(conc, dtype=float)
    limits = np.full(conc.shape, NAN)
    limits[:, 0] = dl
    n = conc.shape[0]
    return soil.classify(
        conc, ["As", "Cd", "Pb"], ["paddy"] * n, [5.0] * n, on=ON, detection_limit=limits
    )


def test_as_below_70_on_paddy_ph5_is_indeterminate_in_the_cli(tmp_path: Path):
    # As "<70": the true value lies in [0, 70); S = 30 (Table 1) lies inside, I = 200 does not
    f = tmp_path / "s.csv"
    f.write_text("sample_id,ph,land_use,As,Cd\nP1,5.0,paddy,<70,0.2\n", encoding="utf-8")
    r = runner.invoke(app, ["diagnose", "soil", str(f), "-f", "json", "--on", ON])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)[0]
    assert rec["class"] == IND  # was safe_utilization
    assert rec["class_range"] == [PP, SU]
    a = rec["factors"]["As"]
    assert (a["screening"], a["intervention"], a["detection_limit"]) == (30.0, 200.0, 70.0)
    assert a["class"] == IND and a["rule"] == "SOIL-CENSORED-DL-ABOVE-SV"
    assert "SOIL-CENSORED-DL-ABOVE-SV" in rec["rules"]
    msg = rec["messages"][0]
    assert "detection limit 70 mg/kg exceeds the screening value 30 mg/kg" in msg
    assert "re-analyse with a method whose detection limit is below 30 mg/kg" in msg
    # the table output shows the class and the message
    r = runner.invoke(app, ["diagnose", "soil", str(f), "--on", ON], env={"COLUMNS": "400"})
    assert r.exit_code == 0
    assert IND in r.stdout and "exceeds the screening value 30 mg/kg" in r.stdout


# (As, Cd, Pb [mg/kg], As detection limit [mg/kg], expected class, expected range)
COMBINATIONS = [
    # <70: S 30 < 70 <= I 200 -> As in {PP, SU}; Cd, Pb below S -> the sample may be PP or SU
    ((35, 0.2, 50), 70, IND, (PP, SU)),
    # Pb 450 > I 400 -> strict control whatever As is
    ((35, 0.2, 450), 70, SC, (SC, SC)),
    # Cd 0.5 > S 0.3 -> safe utilization at least; As < 70 <= I cannot make it strict: SU
    ((35, 0.5, 50), 70, SU, (SU, SU)),
    # <250 > I 200 -> As could be any class; with Cd at SU the sample is SU or SC
    ((125, 0.5, 50), 250, IND, (SU, SC)),
    ((125, 0.2, 50), 250, IND, (PP, SC)),
    # ... and with Pb above intervention it is strict control
    ((125, 0.2, 450), 250, SC, (SC, SC)),
    # <20: DL <= S, As < 20 <= 30 -> priority protection, determinate
    ((10, 0.2, 50), 20, PP, (PP, PP)),
    # DL = S: "<30" means As < 30, never above S
    ((15, 0.2, 50), 30, PP, (PP, PP)),
    # a measured As (no limit) is classed as before: 35 > 30 -> SU
    ((35, 0.2, 50), NAN, SU, (SU, SU)),
]


@pytest.mark.parametrize(("conc", "dl", "expected", "bounds"), COMBINATIONS)
def test_how_an_indeterminate_result_combines_with_the_others(conc, dl, expected, bounds):
    a = _paddy_ph5([conc], [dl])
    assert a.class_names()[0] == expected
    codes = soil.CLASS_CODES
    assert (codes[a.sample_class_min[0]], codes[a.sample_class_max[0]]) == bounds


def test_rules_and_messages_for_a_limit_above_intervention():
    a = _paddy_ph5([(125, 0.5, 50)], [250])
    rec = soil.to_records(a, ["P4"])[0]
    # the lower bound SU comes from Cd above screening; the limit above I opens it up to SC
    assert rec["rules"][:2] == ["SOIL-GB15618-CD-SCREEN", "SOIL-CENSORED-DL-ABOVE-IV"]
    assert rec["factors"]["As"]["class_range"] == [PP, SC]
    assert "exceeds the intervention value 200 mg/kg" in rec["messages"][0]
    # a determinate sample lists the rules that decided it, not the open As result
    a = _paddy_ph5([(125, 0.2, 450)], [250])
    assert soil.sample_rules(a, 0)[0] == "SOIL-GB15618-PB-INTERVENE"
    assert "SOIL-CENSORED-DL-ABOVE-IV" not in soil.sample_rules(a, 0)


def test_nemerow_leaves_an_indeterminate_result_out():
    a = _paddy_ph5([(35, 0.2, 50)], [70])
    rec = soil.to_records(a, ["P1"])[0]
    # P_Cd = 0.2/0.3 = 0.66667, P_Pb = 50/80 = 0.625, As left out (before: 35/30 = 1.16667 in)
    # mean 0.645833, max 0.666667: P_N = sqrt((0.417101 + 0.444444)/2) = 0.656333
    assert rec["nemerow"] == pytest.approx(math.sqrt((0.6458333**2 + (0.2 / 0.3) ** 2) / 2))
    assert rec["nemerow"] == pytest.approx(0.656333, abs=1e-6)
    assert rec["nemerow_excludes"] == ["As"]
    assert rec["factors"]["As"]["index"] is None and rec["factors"]["As"]["grade"] is None
    assert rec["factors"]["As"]["index_upper_bound"] == pytest.approx(70 / 30)
    # a determinate "<20" keeps the DL/2 substitute in the indices: P_As = 10/30
    a = _paddy_ph5([(10, 0.2, 50)], [20])
    assert a.index[0, 0] == pytest.approx(10 / 30)
    assert soil.to_records(a, ["P7"])[0]["nemerow_excludes"] == []


def test_a_sample_with_only_an_indeterminate_result_has_no_nemerow():
    a = soil.classify([[35.0]], ["As"], ["paddy"], [5.0], on=ON, detection_limit=[[70.0]])
    assert a.class_names()[0] == IND and math.isnan(a.nemerow[0])
    assert soil.to_records(a, ["X"])[0]["nemerow_grade"] is None


def test_negative_detection_limit_is_an_input_error():
    from restora.errors import InputError

    with pytest.raises(InputError, match="negative detection limit"):
        soil.classify([[1.0]], ["As"], ["paddy"], [5.0], on=ON, detection_limit=[[-1.0]])


_V = soil.load_standard("gb15618", ON)


@settings(max_examples=200, deadline=None)
@given(
    dl=st.floats(min_value=0.01, max_value=1000.0),
    share=st.floats(min_value=0.0, max_value=0.999),
    cd=st.floats(min_value=0.0, max_value=5.0),
    ph=st.floats(min_value=3.0, max_value=9.0),
)
def test_the_class_range_holds_the_class_of_every_value_below_the_limit(dl, share, cd, ph):
    """Whatever the true As below DL is, its measured class lies in the reported range."""
    censored = soil.classify(
        [[dl / 2, cd]], ["As", "Cd"], ["paddy"], [ph], values=_V, detection_limit=[[dl, NAN]]
    )
    measured = soil.classify([[dl * share, cd]], ["As", "Cd"], ["paddy"], [ph], values=_V)
    k = int(measured.sample_class[0])
    assert censored.sample_class_min[0] <= k <= censored.sample_class_max[0]
    if censored.sample_class[0] != soil.INDETERMINATE_CODE:
        assert censored.sample_class[0] == k


def test_register_rows_keep_the_limit_beside_the_substitute():
    """A register import substitutes "<70" by 35; the limit must travel with it as a number."""
    import pandas as pd

    from restora.inventory.censored import detection_limits, substitute_non_detects

    raw = pd.DataFrame({"As": ["<70", "12", "ND"], "Cd": ["0.2", "<0.1", "0.5"]})
    values, _ = substitute_non_detects(raw, ["As", "Cd"], on=ON)
    limits = detection_limits(raw, ["As", "Cd"])
    np.testing.assert_allclose(limits.to_numpy(), [[70, NAN], [NAN, 0.1], [NAN, NAN]])
    a = soil.classify(
        values[["As", "Cd"]].to_numpy(float),
        ["As", "Cd"],
        ["paddy"] * 3,
        [5.0] * 3,
        on=ON,
        detection_limit=limits.to_numpy(),
    )
    # row 1: As <70 > S 30 -> indeterminate; row 2: Cd <0.1 <= S 0.3 -> PP; row 3: Cd 0.5 -> SU
    assert a.class_names().tolist() == [IND, PP, SU]
