"""Below-detection results: numbers by the non-detect rule, the lab's text kept in `qualifiers`."""

from __future__ import annotations

import pandas as pd
import pytest

from restora import refdata
from restora.inventory.censored import substitute_non_detects
from restora.inventory.io import read_register, write_register
from restora.store import Store

SAMPLES_CSV = """sample_id,mine_id,ph,land_use,Cd,Hg,Pb
P1,M1,6.2,paddy,0.45,ND,35
P2,M1,7.1,other,<0.2,0.08,未检出
P3,M1,5.0,paddy,1.2,0.3,
"""
MINES_CSV = "mine_id,name,region_code,mineral,status\nM1,铅锌矿,430181,metal,abandoned\n"


def test_rule_from_reference_table():
    rule = refdata.get("soil/indices/non-detect").data
    raw = pd.DataFrame({"Cd": ["0.45", "<0.2", "1.2"], "Hg": ["ND", "0.08", "0.3"]})
    out, qualifiers = substitute_non_detects(raw, ["Cd", "Hg"])
    # "<0.2" → fraction_of_lod × 0.2 (EPA QA/G-9S: 0.5 × 0.2 = 0.1); "ND" → value_without_lod (0)
    assert float(out.loc[1, "Cd"]) == pytest.approx(rule["fraction_of_lod"] * 0.2)
    assert float(out.loc[0, "Hg"]) == rule["value_without_lod"]
    assert out.loc[0, "Cd"] == "0.45"  # plain numbers untouched
    assert list(qualifiers) == ["Hg=ND", "Cd=<0.2", None]


def test_import_keeps_what_the_lab_wrote(tmp_path):
    (tmp_path / "mines.csv").write_text(MINES_CSV, encoding="utf-8")
    (tmp_path / "samples.csv").write_text(SAMPLES_CSV, encoding="utf-8")
    register, _ = read_register([tmp_path / "mines.csv", tmp_path / "samples.csv"])
    s = register.samples.set_index("sample_id")
    assert s.loc["P1", "Hg"] == 0.0 and s.loc["P1", "qualifiers"] == "Hg=ND"
    assert s.loc["P2", "Cd"] == pytest.approx(0.1)
    assert s.loc["P2", "qualifiers"] == "Cd=<0.2; Pb=未检出"
    assert pd.isna(s.loc["P3", "Pb"]) and pd.isna(s.loc["P3", "qualifiers"])  # empty = not measured

    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.add_register(register)
    back = store.load_register().samples.set_index("sample_id")
    assert back.loc["P2", "qualifiers"] == "Cd=<0.2; Pb=未检出"

    # export → import keeps numbers and qualifiers (no second substitution)
    files = write_register(store.load_register(), tmp_path / "out.csv", "csv")
    again, _ = read_register([tmp_path / "mines.csv", *[f for f in files if "samples" in str(f)]])
    a = again.samples.set_index("sample_id")
    assert a.loc["P2", "Cd"] == pytest.approx(0.1)
    assert a.loc["P2", "qualifiers"] == "Cd=<0.2; Pb=未检出"


def test_unreadable_cell_still_an_error(tmp_path):
    from restora.errors import InputError

    (tmp_path / "mines.csv").write_text(MINES_CSV, encoding="utf-8")
    bad = SAMPLES_CSV.replace("0.08", "trace")
    (tmp_path / "samples.csv").write_text(bad, encoding="utf-8")
    with pytest.raises(InputError, match=r'row 2, column "Hg"'):
        read_register([tmp_path / "mines.csv", tmp_path / "samples.csv"])
